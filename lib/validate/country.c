/*
 * country.c — the ISO 3166-1 alpha-2 table and its lookup.
 *
 * The 249 officially assigned codes are kept as one sorted string of
 * two-letter pairs; lookup is a binary search over the pairs after
 * upper-casing the input. The table is checked at compile time for its
 * size; the unit test checks that exactly these 249 of the 676 possible
 * pairs are accepted (which also catches an unsorted table).
 *
 * Source: ISO 3166-1 as published in Debian's iso-codes and tzdata's
 * iso3166.tab (both agree). Update when the ISO 3166 Maintenance Agency
 * assigns or withdraws a code.
 */
#include "validate/country.h"

#include <string.h>

#define COUNTRY_COUNT 249

/* clang-format off */
static const char country_codes[] =
	"AD" "AE" "AF" "AG" "AI" "AL" "AM" "AO" "AQ" "AR" "AS" "AT" "AU"
	"AW" "AX" "AZ" "BA" "BB" "BD" "BE" "BF" "BG" "BH" "BI" "BJ" "BL"
	"BM" "BN" "BO" "BQ" "BR" "BS" "BT" "BV" "BW" "BY" "BZ" "CA" "CC"
	"CD" "CF" "CG" "CH" "CI" "CK" "CL" "CM" "CN" "CO" "CR" "CU" "CV"
	"CW" "CX" "CY" "CZ" "DE" "DJ" "DK" "DM" "DO" "DZ" "EC" "EE" "EG"
	"EH" "ER" "ES" "ET" "FI" "FJ" "FK" "FM" "FO" "FR" "GA" "GB" "GD"
	"GE" "GF" "GG" "GH" "GI" "GL" "GM" "GN" "GP" "GQ" "GR" "GS" "GT"
	"GU" "GW" "GY" "HK" "HM" "HN" "HR" "HT" "HU" "ID" "IE" "IL" "IM"
	"IN" "IO" "IQ" "IR" "IS" "IT" "JE" "JM" "JO" "JP" "KE" "KG" "KH"
	"KI" "KM" "KN" "KP" "KR" "KW" "KY" "KZ" "LA" "LB" "LC" "LI" "LK"
	"LR" "LS" "LT" "LU" "LV" "LY" "MA" "MC" "MD" "ME" "MF" "MG" "MH"
	"MK" "ML" "MM" "MN" "MO" "MP" "MQ" "MR" "MS" "MT" "MU" "MV" "MW"
	"MX" "MY" "MZ" "NA" "NC" "NE" "NF" "NG" "NI" "NL" "NO" "NP" "NR"
	"NU" "NZ" "OM" "PA" "PE" "PF" "PG" "PH" "PK" "PL" "PM" "PN" "PR"
	"PS" "PT" "PW" "PY" "QA" "RE" "RO" "RS" "RU" "RW" "SA" "SB" "SC"
	"SD" "SE" "SG" "SH" "SI" "SJ" "SK" "SL" "SM" "SN" "SO" "SR" "SS"
	"ST" "SV" "SX" "SY" "SZ" "TC" "TD" "TF" "TG" "TH" "TJ" "TK" "TL"
	"TM" "TN" "TO" "TR" "TT" "TV" "TW" "TZ" "UA" "UG" "UM" "US" "UY"
	"UZ" "VA" "VC" "VE" "VG" "VI" "VN" "VU" "WF" "WS" "YE" "YT" "ZA"
	"ZM" "ZW";
/* clang-format on */

_Static_assert(sizeof(country_codes) - 1 == 2 * COUNTRY_COUNT,
               "ISO 3166-1 table must hold 249 codes");

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool ascii_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool country_normalize(const char *cc, char out[3])
{
	char up[2];
	size_t lo = 0, hi = COUNTRY_COUNT;

	if (out)
		out[0] = '\0';
	if (!cc || !ascii_alpha(cc[0]) || !ascii_alpha(cc[1]) || cc[2] != '\0')
		return false;
	up[0] = ascii_upper(cc[0]);
	up[1] = ascii_upper(cc[1]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = memcmp(up, country_codes + 2 * mid, 2);

		if (cmp == 0) {
			if (out) {
				out[0] = up[0];
				out[1] = up[1];
				out[2] = '\0';
			}
			return true;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t country_count(void)
{
	return COUNTRY_COUNT;
}

/*
 * t/unit/validate.c — player field validators and the ISO 3166-1 table.
 *
 * Every input is copied into a malloc'd buffer of exactly strlen + 1 bytes
 * (passwords: exactly len bytes, no NUL), so under ASan any read past the
 * terminator is caught. Long inputs are built at run time from a repeated
 * unit so boundary lengths are exact.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "validate/country.h"
#include "validate/validate.h"

#define ACCEPT 1
#define REJECT 0

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600, 4 bytes, 1 code point */

typedef bool (*str_validator)(const char *, const char **);

struct str_case {
	const char *in;
	int accept;
	const char *note; /* test name when in is unprintable */
};

static char *dup_exact(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	memcpy(p, s, n);
	return p;
}

/* prefix + unit x times + suffix, in a buffer of exactly the right size. */
static char *build(const char *prefix, const char *unit, size_t times, const char *suffix)
{
	size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix);
	char *p = malloc(lp + lu * times + ls + 1), *w = p;
	size_t i;

	if (!p) {
		perror("malloc");
		exit(2);
	}
	memcpy(w, prefix, lp);
	w += lp;
	for (i = 0; i < times; i++, w += lu)
		memcpy(w, unit, lu);
	memcpy(w, suffix, ls + 1);
	return p;
}

/*
 * One test: the verdict matches, and why is NULL on acceptance, a non-empty
 * static message on rejection. Takes ownership of in.
 */
static void check(str_validator f, const char *what, char *in, int accept, const char *name)
{
	const char *why = "sentinel";
	bool got = f(in, &why);
	bool why_ok = got ? why == NULL : (why != NULL && why[0] != '\0');

	if (!ok(got == (accept != 0) && why_ok, "%s %s: %s", what,
	        accept ? "accepts" : "rejects", name))
		diag("got %s, why %s", got ? "true" : "false", why ? why : "NULL");
	free(in);
}

static void run_table(str_validator f, const char *what, const struct str_case *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check(f, what, dup_exact(t[i].in), t[i].accept, t[i].note ? t[i].note : t[i].in);
}

#define RUN(f, t) run_table(f, #f, t, sizeof(t) / sizeof(t[0]))

static const struct str_case usernames[] = {
	{ "abc", ACCEPT, NULL },
	{ "Robert_-1", ACCEPT, NULL },
	{ "ABC123", ACCEPT, NULL },
	{ "___", ACCEPT, NULL },
	{ "---", ACCEPT, NULL },
	{ "a-b", ACCEPT, NULL },
	{ "0123456789", ACCEPT, NULL },
	{ "", REJECT, "empty" },
	{ "a", REJECT, NULL },
	{ "ab", REJECT, "2 chars" },
	{ "j\xc3\xbcrgen", REJECT, "jürgen (unicode letter)" },
	{ "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", REJECT, "Cyrillic" },
	{ "a b", REJECT, "space" },
	{ " abc", REJECT, "leading space" },
	{ "abc ", REJECT, "trailing space" },
	{ "abc\n", REJECT, "newline" },
	{ "ab\tc", REJECT, "tab" },
	{ "a'; DROP TABLE players;--", REJECT, NULL },
	{ "admin'--", REJECT, NULL },
	{ "a.b", REJECT, NULL },
	{ "a@b", REJECT, NULL },
	{ "<script>", REJECT, NULL },
	{ "a/b", REJECT, NULL },
	{ "a%20b", REJECT, NULL },
};

static const struct str_case emails[] = {
	{ "a@b.co", ACCEPT, NULL },
	{ "first.last+tag@sub.example.org", ACCEPT, NULL },
	{ "o'brien@example.ie", ACCEPT, NULL },
	{ "x_y-z@a-b.example.com", ACCEPT, NULL },
	{ "!#$%&'*+/=?^_`{|}~-@example.com", ACCEPT, "every atext symbol" },
	{ "UPPER@EXAMPLE.COM", ACCEPT, NULL },
	{ "1@2a.io", ACCEPT, NULL },
	{ "a@b.c.d.museum", ACCEPT, NULL },
	{ "", REJECT, "empty" },
	{ "ab.com", REJECT, "no @" },
	{ "a@b@c.com", REJECT, "two @" },
	{ "@b.com", REJECT, "empty local part" },
	{ "a@", REJECT, "empty domain" },
	{ ".a@b.com", REJECT, "leading dot" },
	{ "a.@b.com", REJECT, "trailing dot in local part" },
	{ "a..b@x.com", REJECT, NULL },
	{ ".@b.com", REJECT, "local part only a dot" },
	{ "a@b", REJECT, "single-label domain" },
	{ "a@-b.com", REJECT, NULL },
	{ "a@b-.com", REJECT, NULL },
	{ "a@b.-com", REJECT, NULL },
	{ "a@b.c", REJECT, "1-letter TLD" },
	{ "a@.com", REJECT, "empty first label" },
	{ "a@b..com", REJECT, "empty middle label" },
	{ "a@b.com.", REJECT, "trailing dot in domain" },
	{ "a@b.c0m", REJECT, "digit in TLD" },
	{ "a@1.2.3.4", REJECT, "bare IPv4" },
	{ "a@[1.2.3.4]", REJECT, NULL },
	{ "a@[IPv6:::1]", REJECT, NULL },
	{ "a@b_c.com", REJECT, "underscore in domain" },
	{ "j\xc3\xbcrgen@example.com", REJECT, "unicode local part" },
	{ "a@b\xc3\xbc" "cher.de", REJECT, "unicode domain" },
	{ "a b@c.com", REJECT, "space in local part" },
	{ "a@b .com", REJECT, "space in domain" },
	{ " a@b.com", REJECT, "leading space" },
	{ "a@b.com ", REJECT, "trailing space" },
	{ "\"a\"@b.com", REJECT, "quoted local part" },
	{ "\"a b\"@b.com", REJECT, "quoted local part with space" },
	{ "a(comment)@b.com", REJECT, "comment" },
	{ "a\\@b.com", REJECT, "backslash" },
	{ "a,b@c.com", REJECT, "comma" },
	{ "a@b.com\n", REJECT, "trailing newline" },
	{ "<a@b.com>", REJECT, "angle brackets" },
};

static const struct str_case display_names[] = {
	{ "Ada", ACCEPT, NULL },
	{ "a", ACCEPT, "1 char" },
	{ "O'Brien; --", ACCEPT, "SQL metacharacters stored verbatim" },
	{ "Robert'); DROP TABLE players;--", ACCEPT, NULL },
	{ "<b>bold</b>", ACCEPT, "HTML is escaped on output, not here" },
	{ "J\xc3\xbcrgen M\xc3\xbcller", ACCEPT, "Jürgen Müller" },
	{ "\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99", ACCEPT, "CJK" },
	{ EMOJI, ACCEPT, "one emoji" },
	{ "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", ACCEPT,
	  "ZWJ family sequence" },
	{ "\xe2\x9d\xa4\xef\xb8\x8f", ACCEPT, "heart + variation selector" },
	{ "a b", ACCEPT, "inner space" },
	{ "a\xc2\xa0" "b", ACCEPT, "inner no-break space" },
	{ "", REJECT, "empty" },
	{ " ", REJECT, "one space" },
	{ "   ", REJECT, "spaces only" },
	{ "\xc2\xa0\xc2\xa0", REJECT, "no-break spaces only" },
	{ "\xe3\x80\x80", REJECT, "ideographic space only" },
	{ "\xe2\x80\x8b", REJECT, "zero-width space only" },
	{ "\xe3\x85\xa4", REJECT, "Hangul filler only" },
	{ "\xe2\xa0\x80", REJECT, "Braille blank only" },
	{ " a", REJECT, "leading space" },
	{ "a ", REJECT, "trailing space" },
	{ "a\xe2\x80\x83", REJECT, "trailing em space" },
	{ "\xef\xbb\xbf" "a", REJECT, "leading BOM" },
	{ "a\tb", REJECT, "tab" },
	{ "a\nb", REJECT, "newline" },
	{ "a\rb", REJECT, "CR" },
	{ "\x01", REJECT, "U+0001" },
	{ "a\x1f", REJECT, "U+001F" },
	{ "a\x7f", REJECT, "DEL" },
	{ "a\xc2\x80" "b", REJECT, "U+0080" },
	{ "a\xc2\x85" "b", REJECT, "U+0085 NEL" },
	{ "a\xc2\x9f" "b", REJECT, "U+009F" },
	{ "\x1b[31mred", REJECT, "ANSI escape" },
	{ "\xff", REJECT, "invalid byte 0xFF" },
	{ "a\x80", REJECT, "stray continuation byte" },
	{ "\xc0\xaf", REJECT, "overlong '/'" },
	{ "\xed\xa0\x80", REJECT, "encoded surrogate" },
	{ "\xf4\x90\x80\x80", REJECT, "above U+10FFFF" },
	{ "a\xe2\x82", REJECT, "truncated sequence at end" },
};

static const struct str_case bios[] = {
	{ "", ACCEPT, "empty" },
	{ "Chess fan.\nPlays blitz\tand bullet.", ACCEPT, "newline and tab" },
	{ "O'Brien; DROP TABLE players; --", ACCEPT, NULL },
	{ "   ", ACCEPT, "whitespace only" },
	{ EMOJI EMOJI, ACCEPT, "emoji" },
	{ "line\r\nline", REJECT, "CR" },
	{ "\x1b[31mred", REJECT, "ANSI escape" },
	{ "a\x7f", REJECT, "DEL" },
	{ "a\xc2\x85", REJECT, "U+0085" },
	{ "\x0b", REJECT, "vertical tab" },
	{ "\xfe", REJECT, "invalid UTF-8" },
};

static const struct str_case avatar_urls[] = {
	{ "https://cdn.example.com/a.png", ACCEPT, NULL },
	{ "https://cdn.example.com", ACCEPT, NULL },
	{ "https://cdn.example.com/", ACCEPT, NULL },
	{ "https://cdn.example.com:8443/a.png?size=64#x", ACCEPT, NULL },
	{ "https://a/b", ACCEPT, NULL },
	{ "https://x.com:1/", ACCEPT, NULL },
	{ "https://x.com:443", ACCEPT, NULL },
	{ "https://x.com:65535/", ACCEPT, NULL },
	{ "https://x.com?s=1", ACCEPT, NULL },
	{ "https://x.com#frag", ACCEPT, NULL },
	{ "https://x.com/@user/avatar.png", ACCEPT, "@ in the path" },
	{ "https://x.com/a%20b.png", ACCEPT, "percent-encoding" },
	{ "", REJECT, "empty" },
	{ "http://cdn.example.com/a.png", REJECT, NULL },
	{ "HTTPS://cdn.example.com/a.png", REJECT, NULL },
	{ "javascript:alert(1)", REJECT, NULL },
	{ "javascript://x.com/%0aalert(1)", REJECT, NULL },
	{ "data:image/png;base64,AAAA", REJECT, NULL },
	{ "//x.com/a.png", REJECT, "scheme-relative" },
	{ "ftp://x.com/a.png", REJECT, NULL },
	{ "https:/x.com/a.png", REJECT, NULL },
	{ "https://", REJECT, "empty host" },
	{ "https:///a.png", REJECT, "empty host with path" },
	{ "https://:443/", REJECT, "port without host" },
	{ "https://user@evil.com/x", REJECT, NULL },
	{ "https://cdn.example.com@evil.com/", REJECT, NULL },
	{ "https://user:pw@evil.com/", REJECT, NULL },
	{ "https://@evil.com/", REJECT, "empty userinfo" },
	{ "https://x.com:0/", REJECT, "port 0" },
	{ "https://x.com:65536/", REJECT, "port 65536" },
	{ "https://x.com:/", REJECT, "empty port" },
	{ "https://x.com:00000443/", REJECT, "port over 5 digits" },
	{ "https://x.com:99999999999999999999999/", REJECT, "huge port" },
	{ "https://x.com:44a/", REJECT, "port with letter" },
	{ "https://x.com:-1/", REJECT, "negative port" },
	{ "https://[::1]/", REJECT, "IPv6 literal" },
	{ "https://x_y.com/", REJECT, "underscore in host" },
	{ "https://b\xc3\xbc" "cher.de/", REJECT, "unicode host" },
	{ "https://x.com/\xc3\xa9.png", REJECT, "unicode path" },
	{ "https://x.com/a b.png", REJECT, "space" },
	{ "https://x.com/a\tb", REJECT, "tab" },
	{ "https://x.com/a\nb", REJECT, "newline" },
	{ "https://x.com/a\x7f", REJECT, "DEL" },
	{ "https://x.com/\"onerror=\"x", REJECT, "double quote" },
	{ "https://x.com/'", REJECT, "single quote" },
	{ "https://x.com/`", REJECT, "backtick" },
	{ "https://x.com/<script>", REJECT, NULL },
	{ "https://x.com\\@evil.com/", REJECT, "backslash" },
	{ " https://x.com/", REJECT, "leading space" },
};

static void test_usernames(void)
{
	const char *why = NULL;

	RUN(validate_username, usernames);
	check(validate_username, "validate_username", build("", "a", 3, ""), ACCEPT, "3 chars");
	check(validate_username, "validate_username", build("", "Z", 32, ""), ACCEPT, "32 chars");
	check(validate_username, "validate_username", build("", "a", 33, ""), REJECT, "33 chars");
	check(validate_username, "validate_username", build("", "a", 5000, ""), REJECT,
	      "5000 chars");
	ok(!validate_username("ab", &why) &&
	       why && strcmp(why, "must be 3-32 characters of A-Z, a-z, 0-9, _ or -") == 0,
	   "validate_username: reason names the rule");
	ok(!validate_username(NULL, &why) && why != NULL, "validate_username: NULL rejected");
	ok(validate_username("abc", NULL) && !validate_username("a b", NULL),
	   "validate_username: why may be NULL");
}

static void test_emails(void)
{
	const char *v = "validate_email";
	char label63[64];

	RUN(validate_email, emails);
	memset(label63, 'd', 63);
	label63[63] = '\0';

	/* 64 + 1 + 189 = 254 bytes: 63 + 1 + 63 + 1 + 61 (.com is in the suffix). */
	check(validate_email, v, build("", "l", 64, "@"), REJECT, "no domain after 64-byte local");
	{
		char dom[200];

		snprintf(dom, sizeof(dom), "@%s.%s.%.57s.com", label63, label63, label63);
		check(validate_email, v, build("", "l", 64, dom), ACCEPT, "254-byte address");
		snprintf(dom, sizeof(dom), "@%s.%s.%.58s.com", label63, label63, label63);
		check(validate_email, v, build("", "l", 64, dom), REJECT, "255-byte address");
	}
	check(validate_email, v, build("", "l", 64, "@x.com"), ACCEPT, "64-byte local part");
	check(validate_email, v, build("", "l", 65, "@x.com"), REJECT, "65-byte local part");
	check(validate_email, v, build("a@", "d", 63, ".com"), ACCEPT, "63-byte label");
	check(validate_email, v, build("a@", "d", 64, ".com"), REJECT, "64-byte label");
	check(validate_email, v, build("a@b.", "z", 63, ""), ACCEPT, "63-letter TLD");
	check(validate_email, v, build("a@", "b.", 100, "com"), ACCEPT, "101 labels");
	check(validate_email, v, build("", "a", 100000, "@x.com"), REJECT, "100 KB address");
	ok(!validate_email(NULL, NULL), "validate_email: NULL rejected");
}

static void check_password(const char *bytes, size_t len, int accept, const char *name)
{
	char *buf = malloc(len ? len : 1);
	const char *why = "sentinel";
	bool got;

	if (!buf) {
		perror("malloc");
		exit(2);
	}
	memcpy(buf, bytes, len);
	got = validate_password(buf, len, &why);
	if (!ok(got == (accept != 0) && (got ? why == NULL : why != NULL),
	        "validate_password %s: %s", accept ? "accepts" : "rejects", name))
		diag("got %s, why %s", got ? "true" : "false", why ? why : "NULL");
	free(buf);
}

static void test_passwords(void)
{
	char *s;

	s = build("", "p", 129, "");
	check_password(s, 0, REJECT, "empty");
	check_password(s, 7, REJECT, "7 bytes");
	check_password(s, 8, ACCEPT, "8 bytes");
	check_password(s, 128, ACCEPT, "128 bytes");
	check_password(s, 129, REJECT, "129 bytes");
	free(s);

	s = build("", "\xc3\xa9", 65, ""); /* é: 2 bytes, 1 code point */
	check_password(s, 6, REJECT, "3 x 'é' = 6 bytes (3 code points)");
	check_password(s, 8, ACCEPT, "4 x 'é' = 8 bytes (4 code points)");
	check_password(s, 128, ACCEPT, "64 x 'é' = 128 bytes");
	check_password(s, 130, REJECT, "65 x 'é' = 130 bytes (65 code points)");
	free(s);

	s = build("", EMOJI, 2, "");
	check_password(s, 8, ACCEPT, "2 emoji = 8 bytes");
	free(s);

	check_password("pass\0word", 9, REJECT, "embedded NUL");
	check_password(" ' \" ; -- \\ \t\n", 14, ACCEPT, "spaces, quotes, controls");
	check_password("\xff\xfe\x80\x81\xc0\xaf\xed\xa0", 8, ACCEPT, "non-UTF-8 bytes");
	ok(!validate_password(NULL, 10, NULL), "validate_password: NULL rejected");
}

static void test_display_names(void)
{
	const char *v = "validate_display_name";

	RUN(validate_display_name, display_names);
	check(validate_display_name, v, build("", EMOJI, 64, ""), ACCEPT, "64 emoji");
	check(validate_display_name, v, build("", EMOJI, 65, ""), REJECT, "65 emoji");
	check(validate_display_name, v, build("", "x", 64, ""), ACCEPT, "64 ASCII");
	check(validate_display_name, v, build("", "x", 65, ""), REJECT, "65 ASCII");
	check(validate_display_name, v, build("", "\xc3\xa9", 64, ""), ACCEPT,
	      "64 x 'é' (128 bytes)");
	check(validate_display_name, v, build("", " ", 64, ""), REJECT, "64 spaces");
	ok(!validate_display_name(NULL, NULL), "validate_display_name: NULL rejected");
}

static void test_bios(void)
{
	const char *v = "validate_bio";

	RUN(validate_bio, bios);
	check(validate_bio, v, build("", "b", 500, ""), ACCEPT, "500 ASCII");
	check(validate_bio, v, build("", "b", 501, ""), REJECT, "501 ASCII");
	check(validate_bio, v, build("", EMOJI, 500, ""), ACCEPT, "500 emoji (2000 bytes)");
	check(validate_bio, v, build("", EMOJI, 501, ""), REJECT, "501 emoji");
	check(validate_bio, v, build("", "\n", 500, ""), ACCEPT, "500 newlines");
	check(validate_bio, v, build("", "b", 65536, ""), REJECT, "64 KiB");
	ok(!validate_bio(NULL, NULL), "validate_bio: NULL rejected");
}

static void test_avatar_urls(void)
{
	const char *v = "validate_avatar_url";
	/* "https://x.com/" is 14 bytes. */
	RUN(validate_avatar_url, avatar_urls);
	check(validate_avatar_url, v, build("https://x.com/", "a", 2048 - 14, ""), ACCEPT,
	      "2048 bytes");
	check(validate_avatar_url, v, build("https://x.com/", "a", 2049 - 14, ""), REJECT,
	      "2049 bytes");
	check(validate_avatar_url, v, build("https://", "a", 3000, ""), REJECT, "long host");
	ok(!validate_avatar_url(NULL, NULL), "validate_avatar_url: NULL rejected");
}

static void check_uuid(const char *in, bool want, const char *name)
{
	char *s = dup_exact(in);

	ok(validate_uuid(s) == want, "validate_uuid %s: %s", want ? "accepts" : "rejects", name);
	free(s);
}

static void test_uuids(void)
{
	check_uuid("123e4567-e89b-12d3-a456-426614174000", true, "lower case");
	check_uuid("123E4567-E89B-12D3-A456-426614174000", true, "upper case");
	check_uuid("123E4567-e89b-12D3-a456-426614174ABC", true, "mixed case");
	check_uuid("00000000-0000-0000-0000-000000000000", true, "nil");
	check_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff", true, "max");
	check_uuid("", false, "empty");
	check_uuid("123e4567-e89b-12d3-a456-42661417400", false, "35 chars");
	check_uuid("123e4567-e89b-12d3-a456-4266141740000", false, "37 chars");
	check_uuid("123e4567e89b12d3a456426614174000", false, "no hyphens");
	check_uuid("{123e4567-e89b-12d3-a456-426614174000}", false, "braces");
	check_uuid("urn:uuid:123e4567-e89b-12d3-a456-426614174000", false, "URN");
	check_uuid("123e4567-e89b-12d3-a456-42661417400g", false, "non-hex 'g'");
	check_uuid("123e4567-e89b-12d3-a456_426614174000", false, "underscore separator");
	check_uuid("123e456-7e89b-12d3-a456-426614174000", false, "hyphen misplaced");
	check_uuid("123e4567-e89b-12d3-a456-426614174000 ", false, "trailing space");
	check_uuid(" 23e4567-e89b-12d3-a456-426614174000", false, "leading space");
	check_uuid("123e4567-e89b-12d3-a456-42661417400\xc3\xa9", false, "unicode");
	check_uuid("------------------------------------", false, "all hyphens");
	ok(!validate_uuid(NULL), "validate_uuid rejects NULL");
}

static void test_codepoints(void)
{
	is_int((long long)utf8_codepoints(""), 0, "utf8_codepoints: empty");
	is_int((long long)utf8_codepoints("abc"), 3, "utf8_codepoints: ASCII");
	is_int((long long)utf8_codepoints("\xc3\xa9"), 1, "utf8_codepoints: 2-byte");
	is_int((long long)utf8_codepoints("\xe2\x82\xac"), 1, "utf8_codepoints: 3-byte");
	is_int((long long)utf8_codepoints(EMOJI), 1, "utf8_codepoints: 4-byte");
	is_int((long long)utf8_codepoints("a\xc3\xa9\xe2\x82\xac" EMOJI "z"), 5,
	       "utf8_codepoints: mixed");
	is_int((long long)utf8_codepoints(NULL), 0, "utf8_codepoints: NULL");
}

/* The 249 officially assigned ISO 3166-1 alpha-2 codes, independent of country.c. */
/* clang-format off */
static const char *const iso_codes[] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX",
	"AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ",
	"BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK",
	"CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
	"DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR",
	"GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS",
	"GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN",
	"IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN",
	"KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV",
	"LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ",
	"MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI",
	"NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
	"PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC",
	"SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV",
	"SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR",
	"TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
	"VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};
/* clang-format on */

#define N_ISO (sizeof(iso_codes) / sizeof(iso_codes[0]))

static bool in_iso_list(const char *cc)
{
	size_t i;

	for (i = 0; i < N_ISO; i++)
		if (strcmp(iso_codes[i], cc) == 0)
			return true;
	return false;
}

static void check_country(const char *in, const char *want, const char *name)
{
	char *s = dup_exact(in);
	char out[3] = "zz";
	bool got = country_normalize(s, out);

	if (want)
		ok(got && strcmp(out, want) == 0, "country_normalize: %s -> %s", name, want);
	else
		ok(!got && out[0] == '\0', "country_normalize rejects %s", name);
	free(s);
}

static void test_countries(void)
{
	size_t i, accepted = 0, upper_ok = 0, lower_ok = 0, strays = 0;
	char cc[3], out[3];

	is_int((long long)country_count(), 249, "country_count() == 249");
	is_int((long long)N_ISO, 249, "test's own ISO list has 249 codes");

	check_country("us", "US", "us");
	check_country("US", "US", "US");
	check_country("Us", "US", "Us");
	check_country("gb", "GB", "gb");
	check_country("de", "DE", "de");
	check_country("SE", "SE", "SE");
	check_country("ax", "AX", "ax (Åland)");
	check_country("AD", "AD", "AD (first)");
	check_country("zw", "ZW", "zw (last)");
	check_country("ss", "SS", "ss (South Sudan)");
	check_country("USA", NULL, "USA");
	check_country("U1", NULL, "U1");
	check_country("1U", NULL, "1U");
	check_country("", NULL, "empty");
	check_country("U", NULL, "one letter");
	check_country("UK", NULL, "UK");
	check_country("uk", NULL, "uk");
	check_country("XK", NULL, "XK (Kosovo, user-assigned)");
	check_country("EU", NULL, "EU");
	check_country("AA", NULL, "AA (user-assigned)");
	check_country("ZZ", NULL, "ZZ (user-assigned)");
	check_country("AN", NULL, "AN (withdrawn)");
	check_country("YU", NULL, "YU (withdrawn)");
	check_country("U ", NULL, "trailing space");
	check_country(" US", NULL, "leading space");
	check_country("US\n", NULL, "trailing newline");
	check_country("\xc3\x9cS", NULL, "non-ASCII");
	check_country("@A", NULL, "'@' (just below 'A')");
	check_country("[A", NULL, "'[' (just above 'Z')");
	check_country("`a", NULL, "'`' (just below 'a')");
	check_country("{a", NULL, "'{' (just above 'z')");
	ok(!country_normalize(NULL, out), "country_normalize rejects NULL");
	ok(country_normalize("fr", NULL), "country_normalize: out may be NULL");

	for (i = 0; i < N_ISO; i++) {
		cc[0] = iso_codes[i][0];
		cc[1] = iso_codes[i][1];
		cc[2] = '\0';
		if (country_normalize(cc, out) && strcmp(out, iso_codes[i]) == 0)
			upper_ok++;
		else
			diag("rejected %s", cc);
		cc[0] = (char)(cc[0] - 'A' + 'a');
		cc[1] = (char)(cc[1] - 'A' + 'a');
		if (country_normalize(cc, out) && strcmp(out, iso_codes[i]) == 0)
			lower_ok++;
		else
			diag("rejected %s", cc);
	}
	is_int((long long)upper_ok, 249, "all 249 codes accepted in upper case");
	is_int((long long)lower_ok, 249, "all 249 codes accepted in lower case");

	/* Exhaustive over AA..ZZ: the accepted set is exactly the ISO list. */
	for (cc[0] = 'A'; cc[0] <= 'Z'; cc[0]++) {
		for (cc[1] = 'A'; cc[1] <= 'Z'; cc[1]++) {
			cc[2] = '\0';
			if (country_normalize(cc, out)) {
				accepted++;
				if (!in_iso_list(cc)) {
					strays++;
					diag("accepted unassigned %s", cc);
				}
			}
		}
	}
	is_int((long long)accepted, 249, "exactly 249 of the 676 pairs accepted");
	is_int((long long)strays, 0, "no unassigned pair accepted");
}

int main(void)
{
	test_usernames();
	test_emails();
	test_passwords();
	test_display_names();
	test_bios();
	test_avatar_urls();
	test_uuids();
	test_codepoints();
	test_countries();
	return done_testing();
}

/*
 * validate.c — field validators for player input.
 *
 * These run after json_parse_strict() and before anything touches the
 * database: a handler sees only values that passed here. Each validator is
 * a single forward pass over a NUL-terminated string with a hard byte or
 * code-point limit, allocates nothing and is safe on any input (NULL,
 * malformed UTF-8, huge strings: scans stop as soon as a limit is crossed).
 *
 * Policy:
 *   - Identifiers that end up in URLs, logs and unique indexes (username,
 *     email, avatar URL) are ASCII-only with small explicit alphabets.
 *     Email is the RFC 5322 dot-atom subset that real providers issue; the
 *     quoted-string and domain-literal forms are refused on purpose.
 *   - Free text a person reads (display name, bio) is any Unicode except
 *     control characters, counted in code points. SQL or HTML
 *     metacharacters are not "validated away": SQL is parameterised and
 *     output is JSON-escaped, so "O'Brien; --" is a fine display name.
 *   - Passwords are opaque bytes (they are only ever hashed); the limit is
 *     in bytes so argon2 work is bounded regardless of encoding.
 *
 * Reasons are static strings and never echo input.
 */
#include "validate/validate.h"

#include <stdint.h>
#include <string.h>

#define UTF8_BAD 0

/* ASCII classes, locale-independent (isalpha() and friends are not). */
static bool ascii_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool ascii_alnum(unsigned char c)
{
	return ascii_alpha(c) || ascii_digit(c);
}

static bool ascii_hex(unsigned char c)
{
	return ascii_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Reject with a static reason. */
static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

static bool pass(const char **why)
{
	if (why)
		*why = NULL;
	return true;
}

/*
 * Decode one UTF-8 sequence at p into *cp. Returns its length (1..4), or
 * UTF8_BAD for an overlong form, a surrogate, a value above U+10FFFF, a
 * stray continuation byte or a truncated sequence. Never reads past a NUL:
 * each continuation byte is checked before the next one is read.
 */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return UTF8_BAD;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return UTF8_BAD;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return UTF8_BAD;
	*cp = c;
	return n;
}

/* C0, DEL and C1 controls: U+0000-001F, U+007F-009F. */
static bool is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/*
 * Unicode White_Space, plus invisible characters used to fake blank names:
 * zero-width space/joiners, word joiner, BOM, Mongolian vowel separator,
 * Braille blank and the Hangul fillers.
 */
static bool is_blank(uint32_t c)
{
	/* clang-format off */
	switch (c) {
	case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
	case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x180E:
	case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x2060:
	case 0x2800: case 0x3000: case 0x3164: case 0xFEFF: case 0xFFA0:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200D;
	}
	/* clang-format on */
}

size_t utf8_codepoints(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

bool validate_username(const char *s, const char **why)
{
	static const char msg[] = "must be 3-32 characters of A-Z, a-z, 0-9, _ or -";
	size_t n;

	if (!s)
		return fail(why, "is required");
	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= VALIDATE_USERNAME_MAX || !(ascii_alnum(c) || c == '_' || c == '-'))
			return fail(why, msg);
	}
	if (n < VALIDATE_USERNAME_MIN)
		return fail(why, msg);
	return pass(why);
}

/* RFC 5322 atext: the characters of a dot-atom other than '.'. */
static bool email_atext(unsigned char c)
{
	return ascii_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

bool validate_email(const char *s, const char **why)
{
	const char *at, *p, *label;
	size_t len, local_len, labels = 0;
	bool tld_alpha = true;

	if (!s)
		return fail(why, "is required");
	len = strnlen(s, VALIDATE_EMAIL_MAX + 1);
	if (len > VALIDATE_EMAIL_MAX)
		return fail(why, "must be at most 254 characters");
	at = strchr(s, '@');
	if (!at || strchr(at + 1, '@'))
		return fail(why, "must contain exactly one '@'");

	local_len = (size_t)(at - s);
	if (local_len == 0 || local_len > VALIDATE_EMAIL_LOCAL_MAX)
		return fail(why, "the part before '@' must be 1-64 characters");
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p == s || p + 1 == at || p[1] == '.')
				return fail(why,
				            "the part before '@' must not start or end with '.' "
				            "or contain '..'");
		} else if (!email_atext((unsigned char)*p)) {
			return fail(why, "the part before '@' contains a character that is not "
			                 "allowed");
		}
	}

	/* Domain: labels separated by single dots; p walks, label marks a start. */
	label = at + 1;
	for (p = label;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' || c == '\0') {
			size_t n = (size_t)(p - label);

			if (n == 0 || n > VALIDATE_EMAIL_LABEL_MAX || label[0] == '-' ||
			    p[-1] == '-')
				return fail(why,
				            "domain labels must be 1-63 characters of A-Z, a-z, "
				            "0-9 or -, not starting or ending with -");
			labels++;
			if (c == '\0') {
				if (labels < 2)
					return fail(why, "domain must have at least two labels, "
					                 "like example.com");
				if (n < 2 || !tld_alpha)
					return fail(why,
					            "domain must end in an alphabetic top-level "
					            "domain of at least 2 letters");
				return pass(why);
			}
			label = p + 1;
			tld_alpha = true;
		} else if (ascii_alpha(c)) {
			/* fine in any label */
		} else if (ascii_digit(c) || c == '-') {
			tld_alpha = false;
		} else {
			return fail(why, "domain contains a character that is not allowed");
		}
	}
}

bool validate_password(const char *s, size_t len, const char **why)
{
	if (!s)
		return fail(why, "is required");
	if (len < VALIDATE_PASSWORD_MIN || len > VALIDATE_PASSWORD_MAX)
		return fail(why, "must be 8-128 bytes");
	if (memchr(s, '\0', len))
		return fail(why, "must not contain NUL bytes");
	return pass(why);
}

bool validate_display_name(const char *s, const char **why)
{
	const unsigned char *p;
	size_t n = 0;
	bool first_blank = false, last_blank = false, all_blank = true;

	if (!s)
		return fail(why, "is required");
	for (p = (const unsigned char *)s; *p; n++) {
		uint32_t c;
		size_t k = utf8_decode(p, &c);

		if (k == UTF8_BAD)
			return fail(why, "must be valid UTF-8");
		if (n >= VALIDATE_DISPLAY_NAME_MAX)
			return fail(why, "must be 1-64 characters");
		if (is_control(c))
			return fail(why, "must not contain control characters");
		last_blank = is_blank(c);
		if (n == 0)
			first_blank = last_blank;
		if (!last_blank)
			all_blank = false;
		p += k;
	}
	if (n == 0)
		return fail(why, "must be 1-64 characters");
	if (all_blank)
		return fail(why, "must not be blank");
	if (first_blank || last_blank)
		return fail(why, "must not start or end with whitespace");
	return pass(why);
}

bool validate_bio(const char *s, const char **why)
{
	const unsigned char *p;
	size_t n = 0;

	if (!s)
		return fail(why, "is required");
	for (p = (const unsigned char *)s; *p; n++) {
		uint32_t c;
		size_t k = utf8_decode(p, &c);

		if (k == UTF8_BAD)
			return fail(why, "must be valid UTF-8");
		if (n >= VALIDATE_BIO_MAX)
			return fail(why, "must be at most 500 characters");
		if (is_control(c) && c != '\n' && c != '\t')
			return fail(why, "must not contain control characters other than newline "
			                 "and tab");
		p += k;
	}
	return pass(why);
}

bool validate_avatar_url(const char *s, const char **why)
{
	static const char scheme[] = "https://";
	const char *host, *p;
	size_t len, i;

	if (!s)
		return fail(why, "is required");
	len = strnlen(s, VALIDATE_AVATAR_URL_MAX + 1);
	if (len > VALIDATE_AVATAR_URL_MAX)
		return fail(why, "must be at most 2048 characters");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80)
			return fail(why, "must contain only ASCII characters (percent-encode the "
			                 "rest)");
		if (c <= 0x20 || c == 0x7F || strchr("\"'`<>\\", c))
			return fail(why, "must not contain whitespace, control characters, quotes, "
			                 "'<', '>' or '\\'");
	}
	if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
		return fail(why, "must start with https://");

	host = s + sizeof(scheme) - 1;
	/* The authority runs to the first '/', '?', '#' or the end. */
	for (p = host; *p && !strchr("/?#", *p); p++)
		if (*p == '@')
			return fail(why, "must not contain user information before the host");

	for (p = host; ascii_alnum((unsigned char)*p) || *p == '.' || *p == '-'; p++)
		;
	if (p == host)
		return fail(why, "must have a host");
	if (*p == ':') {
		unsigned long port = 0;
		size_t digits = 0;

		for (p++; ascii_digit((unsigned char)*p) && digits < 6; p++, digits++)
			port = port * 10 + (unsigned long)(*p - '0');
		if (digits == 0 || digits > 5 || port < 1 || port > 65535 ||
		    ascii_digit((unsigned char)*p))
			return fail(why, "port must be 1-65535");
	}
	if (*p != '\0' && !strchr("/?#", *p))
		return fail(why, "host must contain only A-Z, a-z, 0-9, '.' and '-'");
	return pass(why);
}

bool validate_uuid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < VALIDATE_UUID_LEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!ascii_hex(c)) {
			return false;
		}
	}
	return s[VALIDATE_UUID_LEN] == '\0';
}

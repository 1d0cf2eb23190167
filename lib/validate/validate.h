/*
 * validate.h — pure validators for player fields (SPEC §4, §6).
 *
 * Every input is a NUL-terminated string that has already passed
 * json_parse_strict() (valid UTF-8, no NUL), but the validators do not rely
 * on it: NULL is rejected, malformed UTF-8 is rejected, and nothing is read
 * past the terminating NUL. They allocate nothing and keep no state.
 *
 * On rejection, if why is non-NULL, *why points to a static English message
 * fit for a client ("must be 3-32 characters of A-Z, a-z, 0-9, _ or -"); it
 * never contains bytes of the input. On acceptance *why is set to NULL.
 *
 * Lengths: "bytes" where the column is bounded in bytes (username, email,
 * password, avatar URL), Unicode code points where a person counts
 * characters (display name, bio), so one emoji is one character.
 */
#ifndef RP_VALIDATE_VALIDATE_H
#define RP_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATE_USERNAME_MIN     3
#define VALIDATE_USERNAME_MAX     32
#define VALIDATE_EMAIL_MAX        254
#define VALIDATE_EMAIL_LOCAL_MAX  64
#define VALIDATE_EMAIL_LABEL_MAX  63
#define VALIDATE_PASSWORD_MIN     8
#define VALIDATE_PASSWORD_MAX     128
#define VALIDATE_DISPLAY_NAME_MAX 64
#define VALIDATE_BIO_MAX          500
#define VALIDATE_AVATAR_URL_MAX   2048
#define VALIDATE_UUID_LEN         36

/* 3..32 bytes of [A-Za-z0-9_-]. */
bool validate_username(const char *s, const char **why);

/*
 * At most 254 bytes with exactly one '@'. Local part: 1..64 bytes of the
 * RFC 5322 dot-atom set (A-Za-z0-9 !#$%&'*+/=?^_`{|}~- and '.'), with no
 * leading, trailing or doubled dot. Domain: at least two labels of 1..63
 * bytes of [A-Za-z0-9-] not starting or ending with '-', the last label
 * (TLD) alphabetic and at least 2 letters. No quoted local parts, no IP
 * literals, no spaces, no non-ASCII.
 */
bool validate_email(const char *s, const char **why);

/* 8..128 bytes (len, not code points); any byte but NUL. s may hold no NUL. */
bool validate_password(const char *s, size_t len, const char **why);

/*
 * 1..64 code points of valid UTF-8, no C0/C1 control characters
 * (U+0000-001F, U+007F-009F), not blank, no leading or trailing blank.
 * "Blank" is Unicode White_Space plus the invisible characters people use
 * to fake an empty name (U+180E, U+200B-200D, U+2060, U+2800, U+3164,
 * U+FEFF, U+FFA0). Quotes, semicolons and the like are fine: values are
 * stored through parameterised SQL and escaped on output.
 */
bool validate_display_name(const char *s, const char **why);

/* 0..500 code points of valid UTF-8; control characters other than \n and \t rejected. */
bool validate_bio(const char *s, const char **why);

/*
 * At most 2048 bytes of printable ASCII without whitespace, quotes
 * (" ' `), '<', '>' or '\'. Starts with "https://", then a non-empty host
 * of [A-Za-z0-9.-], an optional ":port" (1..65535), then the end or one of
 * '/', '?', '#'. No userinfo: an '@' before the end of the authority is
 * rejected.
 */
bool validate_avatar_url(const char *s, const char **why);

/* Canonical 8-4-4-4-12 hex UUID (either case), exactly 36 chars. NULL → false. */
bool validate_uuid(const char *s);

/*
 * Number of code points in s, which must be valid UTF-8 (every byte that
 * is not a continuation byte starts one). NULL → 0.
 */
size_t utf8_codepoints(const char *s);

#endif

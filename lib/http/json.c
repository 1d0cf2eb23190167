/*
 * json.c — the strict JSON front door for request bodies.
 *
 * Every request body passes through json_parse_strict() before a handler
 * sees it. json-c builds the tree, but json-c is lenient where we must not
 * be: it keeps the last of duplicate keys, replaces lone surrogates with
 * U+FFFD, truncates keys at an escaped NUL, saturates integers that do not
 * fit in 64 bits, and treats a raw NUL as end of input. So the body is first
 * checked by a small hand-written RFC 8259 validator, and only a body the
 * validator accepts is handed to json-c (with its own STRICT flag and depth
 * limit, belt and braces).
 *
 * The validator is one forward pass over the bytes with an explicit stack
 * of JSON_MAX_DEPTH + 1 frames (frame 0 is the top level), so hostile
 * nesting costs neither C stack nor recursion. It refuses:
 *   - anything but exactly one value with space/tab/CR/LF around it;
 *   - numbers outside the RFC grammar (leading zeros, '+', '.5', '1.',
 *     '1e', NaN, Infinity, hex), integers outside [INT64_MIN, UINT64_MAX]
 *     and numbers whose magnitude overflows a double;
 *   - bad escapes, malformed \u escapes, unpaired UTF-16 surrogates, and
 *     \u0000 (downstream code and PostgreSQL treat strings as C strings; a
 *     NUL would silently truncate "admin\u0000x" to "admin");
 *   - raw control characters (< 0x20) in strings, raw NUL anywhere;
 *   - malformed UTF-8: overlong forms, encoded surrogates, > U+10FFFF,
 *     truncated or stray continuation bytes;
 *   - nesting deeper than JSON_MAX_DEPTH arrays/objects;
 *   - duplicate keys in one object, compared after decoding escapes (so
 *     "a" and "\u0061" collide), and more than JSON_MAX_KEYS_PER_OBJECT keys.
 *
 * Duplicate detection keeps the decoded keys of every *open* object in one
 * scratch buffer used as a stack: an object's keys are appended as they are
 * seen and dropped when the object closes. Decoding never makes a string
 * longer, so a buffer of len bytes always suffices. Lookup is a linear scan
 * with a hash prefilter; the per-object key cap bounds it to 256 probes.
 *
 * Trade-offs: the body is copied once (json-c needs a terminating NUL to
 * finish a top-level number) and walked twice; for bodies capped at 64 KiB
 * that is cheaper than being clever. Reasons given to clients are static
 * strings and never echo input bytes. Range checks on non-integers use
 * strtod(), so the process must stay in the "C" LC_NUMERIC locale (it does:
 * nothing calls setlocale()).
 */
#include "http/json.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_STR_(x) #x
#define JSON_STR(x) JSON_STR_(x)

enum frame_kind { FRAME_TOP, FRAME_ARRAY, FRAME_OBJECT };

/* One open container. key_base/byte_base mark where its keys start. */
struct frame {
	enum frame_kind kind;
	uint32_t key_base;
	uint32_t byte_base;
};

/* A decoded key of an open object, stored at keybuf[off .. off+len). */
struct key_ent {
	uint32_t off;
	uint32_t len;
	uint32_t hash;
};

/* What the validator expects next (after skipping whitespace). */
enum want {
	WANT_VALUE,
	WANT_VALUE_OR_CLOSE,    /* just after '[' */
	WANT_KEY,
	WANT_KEY_OR_CLOSE,      /* just after '{' */
	WANT_COLON,
	WANT_COMMA_OR_CLOSE,
	WANT_END
};

struct validator {
	const unsigned char *s;   /* NUL-terminated copy of the body */
	size_t len;
	unsigned char *keybuf;    /* len bytes: decoded keys of open objects */
	uint32_t keybytes;        /* bytes used in keybuf */
	struct key_ent *keys;     /* keys of open objects, innermost last */
	uint32_t nkeys;
	uint32_t keycap;
	int depth;                /* index of the innermost open frame */
	struct frame frames[JSON_MAX_DEPTH + 1];
};

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read four hex digits at s[i..i+4). Returns the code unit, or -1 if fewer
 * than four bytes remain or one is not a hex digit.
 */
static long read_hex4(const unsigned char *s, size_t len, size_t i)
{
	long v = 0;

	if (len - i < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = hex_val(s[i + k]);
		if (h < 0)
			return -1;
		v = (v << 4) | h;
	}
	return v;
}

/* Append code point cp (valid, not a surrogate) to out as UTF-8. */
static size_t put_utf8(unsigned char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Length of the well-formed UTF-8 sequence starting at s[i] (a byte >=
 * 0x80), per RFC 3629 table 3-7; 0 if it is malformed or truncated.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t len, size_t i)
{
	unsigned char c = s[i];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;   /* bounds for the second byte */

	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;              /* no overlong */
		else if (c == 0xED)
			hi = 0x9F;              /* no UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;              /* no overlong */
		else if (c == 0xF4)
			hi = 0x8F;              /* nothing above U+10FFFF */
	} else {
		return 0;                       /* 0x80-0xC1, 0xF5-0xFF */
	}
	if (len - i < n)
		return 0;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	return n;
}

/*
 * Scan the string whose opening quote is at s[*pi]. On success returns NULL
 * and leaves *pi just past the closing quote; if out is non-NULL the decoded
 * bytes are written there (at most as many as the source spans) and their
 * count stored in *outlen. On failure returns a static reason.
 */
static const char *scan_string(const unsigned char *s, size_t len, size_t *pi,
                               unsigned char *out, size_t *outlen)
{
	size_t i = *pi + 1;
	size_t o = 0;

	for (;;) {
		if (i >= len)
			return "unexpected end of input in string";
		unsigned char c = s[i];

		if (c == '"') {
			*pi = i + 1;
			if (outlen)
				*outlen = o;
			return NULL;
		}
		if (c == 0)
			return "NUL byte in input";
		if (c < 0x20)
			return "control character in string";
		if (c < 0x80 && c != '\\') {
			if (out)
				out[o++] = c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq_len(s, len, i);
			if (n == 0)
				return "invalid UTF-8 in string";
			if (out) {
				memcpy(out + o, s + i, n);
				o += n;
			}
			i += n;
			continue;
		}

		/* Backslash escape. */
		if (i + 1 >= len)
			return "unexpected end of input in string";
		unsigned char e = s[i + 1];
		unsigned char lit;

		switch (e) {
		case '"':  lit = '"';  break;
		case '\\': lit = '\\'; break;
		case '/':  lit = '/';  break;
		case 'b':  lit = '\b'; break;
		case 'f':  lit = '\f'; break;
		case 'n':  lit = '\n'; break;
		case 'r':  lit = '\r'; break;
		case 't':  lit = '\t'; break;
		case 'u': {
			long u = read_hex4(s, len, i + 2);
			unsigned long cp;

			if (u < 0)
				return "invalid \\u escape in string";
			i += 6;
			if (u >= 0xDC00 && u <= 0xDFFF)
				return "unpaired UTF-16 surrogate in string";
			if (u >= 0xD800 && u <= 0xDBFF) {
				long lo;

				if (len - i < 2 || s[i] != '\\' || s[i + 1] != 'u')
					return "unpaired UTF-16 surrogate in string";
				lo = read_hex4(s, len, i + 2);
				if (lo < 0)
					return "invalid \\u escape in string";
				if (lo < 0xDC00 || lo > 0xDFFF)
					return "unpaired UTF-16 surrogate in string";
				i += 6;
				cp = 0x10000 + (((unsigned long)u - 0xD800) << 10)
				     + ((unsigned long)lo - 0xDC00);
			} else if (u == 0) {
				return "NUL character (\\u0000) in string";
			} else {
				cp = (unsigned long)u;
			}
			if (out)
				o += put_utf8(out + o, cp);
			continue;
		}
		default:
			return "invalid escape in string";
		}
		if (out)
			out[o++] = lit;
		i += 2;
	}
}

/*
 * Scan the number starting at s[*pi] ('-' or a digit). s must be
 * NUL-terminated at s[len] (strtod reads it). On success returns NULL and
 * advances *pi past the number; otherwise a static reason.
 */
static const char *scan_number(const unsigned char *s, size_t len, size_t *pi)
{
	size_t i = *pi;
	size_t start = i;
	bool neg = false;
	bool integral = true;

	if (s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= len)
		return "invalid number";
	if (s[i] == '0') {
		i++;
		if (i < len && is_digit(s[i]))
			return "leading zero in number";
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < len && is_digit(s[i]))
			i++;
	} else {
		return "invalid number";
	}
	if (i < len && s[i] == '.') {
		integral = false;
		i++;
		if (i >= len || !is_digit(s[i]))
			return "invalid number";
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		integral = false;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return "invalid number";
		while (i < len && is_digit(s[i]))
			i++;
	}

	if (integral) {
		/* json-c holds integers as int64 or uint64; it would saturate. */
		static const char max_neg[] = "9223372036854775808";
		static const char max_pos[] = "18446744073709551615";
		const char *lim = neg ? max_neg : max_pos;
		size_t limlen = neg ? sizeof max_neg - 1 : sizeof max_pos - 1;
		size_t d0 = start + (neg ? 1 : 0);
		size_t ndig = i - d0;

		if (ndig > limlen ||
		    (ndig == limlen && memcmp(s + d0, lim, limlen) > 0))
			return "number out of range";
	} else {
		/*
		 * The grammar is already checked and the byte after the number
		 * cannot extend it, so strtod reads exactly this token.
		 */
		double d = strtod((const char *)s + start, NULL);
		if (isinf(d))
			return "number out of range";
	}
	*pi = i;
	return NULL;
}

/* Scan true/false/null at s[*pi]. */
static const char *scan_literal(const unsigned char *s, size_t len, size_t *pi)
{
	const char *lit;
	size_t n;
	size_t avail = len - *pi;

	switch (s[*pi]) {
	case 't': lit = "true";  break;
	case 'f': lit = "false"; break;
	default:  lit = "null";  break;
	}
	n = strlen(lit);
	if (avail < n) {
		if (memcmp(s + *pi, lit, avail) == 0)
			return "unexpected end of input";
		return "invalid literal";
	}
	if (memcmp(s + *pi, lit, n) != 0)
		return "invalid literal";
	*pi += n;
	return NULL;
}

static uint32_t key_hash(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (size_t k = 0; k < n; k++) {
		h ^= p[k];
		h *= 16777619u;
	}
	return h;
}

/*
 * Scan an object key at s[*pi], decode it onto the key stack and check it
 * against the other keys of the innermost object.
 */
static const char *take_key(struct validator *v, size_t *pi)
{
	const struct frame *f = &v->frames[v->depth];
	unsigned char *dst = v->keybuf + v->keybytes;
	size_t n = 0;
	const char *why = scan_string(v->s, v->len, pi, dst, &n);

	if (why)
		return why;
	if (v->nkeys - f->key_base >= JSON_MAX_KEYS_PER_OBJECT)
		return "too many keys in one object (max "
		       JSON_STR(JSON_MAX_KEYS_PER_OBJECT) ")";
	if (v->nkeys >= v->keycap)      /* cannot happen: see keycap */
		return "too many keys in one object";

	uint32_t h = key_hash(dst, n);

	for (uint32_t k = f->key_base; k < v->nkeys; k++) {
		const struct key_ent *e = &v->keys[k];
		if (e->hash == h && e->len == n &&
		    memcmp(v->keybuf + e->off, dst, n) == 0)
			return "duplicate object key";
	}
	v->keys[v->nkeys].off = v->keybytes;
	v->keys[v->nkeys].len = (uint32_t)n;
	v->keys[v->nkeys].hash = h;
	v->nkeys++;
	v->keybytes += (uint32_t)n;
	return NULL;
}

/* Close the innermost container; what follows depends on its parent. */
static enum want close_frame(struct validator *v)
{
	const struct frame *f = &v->frames[v->depth];

	v->nkeys = f->key_base;
	v->keybytes = f->byte_base;
	v->depth--;
	return v->depth == 0 ? WANT_END : WANT_COMMA_OR_CLOSE;
}

static const char *open_frame(struct validator *v, enum frame_kind kind)
{
	if (v->depth >= JSON_MAX_DEPTH)
		return "nesting deeper than " JSON_STR(JSON_MAX_DEPTH);
	v->depth++;
	v->frames[v->depth].kind = kind;
	v->frames[v->depth].key_base = v->nkeys;
	v->frames[v->depth].byte_base = v->keybytes;
	return NULL;
}

/*
 * The validator proper. v->s .. v->keycap must be set up. Returns NULL if
 * v->s[0..len) is one acceptable JSON value with optional surrounding
 * whitespace, else a static reason.
 */
static const char *validate(struct validator *v)
{
	const unsigned char *s = v->s;
	size_t len = v->len;
	size_t i = 0;
	enum want want = WANT_VALUE;
	const char *why;

	v->depth = 0;
	v->frames[0].kind = FRAME_TOP;
	v->frames[0].key_base = 0;
	v->frames[0].byte_base = 0;

	for (;;) {
		while (i < len && is_ws(s[i]))
			i++;
		if (i == len) {
			if (want == WANT_END)
				return NULL;
			if (v->depth == 0)
				return "empty body";
			return "unexpected end of input";
		}
		unsigned char c = s[i];

		if (c == 0)
			return "NUL byte in input";

		switch (want) {
		case WANT_END:
			return "trailing data after JSON value";

		case WANT_COLON:
			if (c != ':')
				return "expected ':' after object key";
			i++;
			want = WANT_VALUE;
			continue;

		case WANT_COMMA_OR_CLOSE:
			if (v->frames[v->depth].kind == FRAME_ARRAY) {
				if (c == ',') {
					i++;
					want = WANT_VALUE;
				} else if (c == ']') {
					i++;
					want = close_frame(v);
				} else {
					return "expected ',' or ']' in array";
				}
			} else {
				if (c == ',') {
					i++;
					want = WANT_KEY;
				} else if (c == '}') {
					i++;
					want = close_frame(v);
				} else {
					return "expected ',' or '}' in object";
				}
			}
			continue;

		case WANT_KEY_OR_CLOSE:
			if (c == '}') {
				i++;
				want = close_frame(v);
				continue;
			}
			/* fall through */
		case WANT_KEY:
			if (c != '"')
				return "expected string as object key";
			if ((why = take_key(v, &i)) != NULL)
				return why;
			want = WANT_COLON;
			continue;

		case WANT_VALUE_OR_CLOSE:
			if (c == ']') {
				i++;
				want = close_frame(v);
				continue;
			}
			/* fall through */
		case WANT_VALUE:
			break;
		}

		/* A value starts at s[i]. */
		switch (c) {
		case '{':
		case '[':
			why = open_frame(v, c == '{' ? FRAME_OBJECT : FRAME_ARRAY);
			if (why)
				return why;
			i++;
			want = c == '{' ? WANT_KEY_OR_CLOSE : WANT_VALUE_OR_CLOSE;
			continue;
		case '"':
			why = scan_string(s, len, &i, NULL, NULL);
			break;
		case 't':
		case 'f':
		case 'n':
			why = scan_literal(s, len, &i);
			break;
		case '+':
		case '.':
			return "invalid number";
		default:
			if (c == '-' || is_digit(c)) {
				why = scan_number(s, len, &i);
				break;
			}
			return "unexpected character";
		}
		if (why)
			return why;
		want = v->depth == 0 ? WANT_END : WANT_COMMA_OR_CLOSE;
	}
}

/*
 * Hand a validated, NUL-terminated body to json-c. Returns RP_OK with *out
 * set, or an error with *why set.
 */
static enum rp_err parse_with_json_c(const char *copy, size_t len,
                                     struct json_object **out, const char **why)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (!tok) {
		*why = "out of memory";
		return RP_ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* len + 1: the NUL tells json-c the input is complete. */
	obj = json_tokener_parse_ex(tok, copy, (int)(len + 1));
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (jerr != json_tokener_success) {
		json_object_put(obj);
		*why = "malformed JSON";
		return RP_EBADJSON;
	}
	while (end < len && is_ws((unsigned char)copy[end]))
		end++;
	if (end != len) {
		json_object_put(obj);
		*why = "trailing data after JSON value";
		return RP_EBADJSON;
	}
	if (!obj) {
		/* Success without an object means the literal null, or OOM. */
		size_t k = 0;
		while (k < len && is_ws((unsigned char)copy[k]))
			k++;
		if (copy[k] != 'n') {
			*why = "out of memory";
			return RP_ENOMEM;
		}
	}
	*out = obj;
	return RP_OK;
}

enum rp_err json_parse_strict(const char *body, size_t len,
                              struct json_object **out, const char **why)
{
	const char *reason = NULL;
	enum rp_err rc;
	struct validator v;
	char *copy;

	*out = NULL;
	if (len > (size_t)INT_MAX - 1) {
		if (why)
			*why = "body too large";
		return RP_ETOOLARGE;
	}
	if (len == 0) {
		if (why)
			*why = "empty body";
		return RP_EBADJSON;
	}

	/*
	 * Every key needs at least 4 source bytes ("":0) except possibly the
	 * last one scanned, so len/4 + 1 entries always suffice.
	 */
	size_t keycap = (size_t)JSON_MAX_DEPTH * JSON_MAX_KEYS_PER_OBJECT;
	if (len / 4 + 1 < keycap)
		keycap = len / 4 + 1;

	copy = malloc(len + 1);
	v.keybuf = malloc(len);
	v.keys = malloc(keycap * sizeof *v.keys);
	if (!copy || !v.keybuf || !v.keys) {
		reason = "out of memory";
		rc = RP_ENOMEM;
		goto done;
	}
	memcpy(copy, body, len);
	copy[len] = '\0';

	v.s = (const unsigned char *)copy;
	v.len = len;
	v.keybytes = 0;
	v.nkeys = 0;
	v.keycap = (uint32_t)keycap;
	reason = validate(&v);
	if (reason) {
		rc = RP_EBADJSON;
		goto done;
	}
	rc = parse_with_json_c(copy, len, out, &reason);

done:
	free(v.keys);
	free(v.keybuf);
	free(copy);
	if (rc != RP_OK && why)
		*why = reason;
	return rc;
}

const char *json_to_text(struct json_object *o, size_t *len)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (len)
		*len = s ? n : 0;
	return s;
}

/*
 * base64url.c — strict, unpadded RFC 4648 §5 coding.
 *
 * The decoder is the strict half: JWT signatures are compared as bytes, so
 * if two spellings decoded to the same bytes an attacker could mint
 * "different" tokens with one signature (harmless for HMAC, but it breaks
 * any later use of the token text as an identity, e.g. in a cache key).
 * Requiring canonical input makes encode(decode(s)) == s for every s that
 * decodes at all.
 *
 * Nothing here handles secrets whose timing matters (signatures are public
 * once sent), so a plain lookup table is fine.
 */
#include "auth/base64url.h"

#include <limits.h>

static const char b64url_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t base64url_encoded_len(size_t binlen)
{
	size_t rem = binlen % 3;

	return binlen / 3 * 4 + (rem ? rem + 1 : 0);
}

size_t base64url_encode(char *out, const unsigned char *in, size_t n)
{
	size_t i = 0, o = 0;

	for (; n - i >= 3; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
		                  (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 |
		                  (unsigned long)in[i + 1] << 8;

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

long base64url_decode(unsigned char *out, size_t cap, const char *in, size_t len)
{
	size_t rem = len % 4, need, i, o = 0;
	unsigned long v = 0;
	int bits = 0;

	if (rem == 1 || (len > 0 && in == NULL))
		return -1;
	need = len / 4 * 3 + (rem ? rem - 1 : 0);
	if (need > cap || need > (size_t)LONG_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		int d = b64url_value((unsigned char)in[i]);

		if (d < 0)
			return -1;
		v = (v << 6 | (unsigned long)d) & 0xffffffUL;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	/* Leftover bits (2 or 4) are padding and must be zero. */
	if (bits > 0 && (v & ((1UL << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

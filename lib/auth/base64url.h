/*
 * base64url.h — RFC 4648 §5 ("base64url") without padding, strictly.
 *
 * Used for the three parts of a JWT. Decoding accepts exactly one spelling
 * of any byte string: it refuses '=', whitespace, '+' and '/', any byte
 * outside [A-Za-z0-9_-], impossible lengths (len % 4 == 1) and
 * non-canonical encodings (unused trailing bits not zero, e.g. "Zh" for
 * "f"). So a decoded-then-re-encoded value always equals its input.
 */
#ifndef RP_AUTH_BASE64URL_H
#define RP_AUTH_BASE64URL_H

#include <stddef.h>

/* Characters needed to encode binlen bytes (no padding, no NUL). */
size_t base64url_encoded_len(size_t binlen);

/*
 * Encode n bytes of in. out must hold base64url_encoded_len(n) + 1 bytes;
 * it is NUL-terminated. Returns the encoded length. in may be NULL if n is 0.
 */
size_t base64url_encode(char *out, const unsigned char *in, size_t n);

/*
 * Decode len characters of in (need not be NUL-terminated) into out, which
 * holds cap bytes. Returns the decoded length, or -1 on any invalid input
 * or if out is too small (out may then be partly written). Never reads
 * past in[len - 1] or writes past out[cap - 1].
 */
long base64url_decode(unsigned char *out, size_t cap, const char *in, size_t len);

#endif

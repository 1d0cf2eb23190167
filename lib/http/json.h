/*
 * json.h — strict parsing of request bodies, and plain serialization.
 *
 * A body is accepted only if it is exactly one RFC 8259 JSON value with
 * nothing but whitespace around it, no duplicate object keys, at most
 * JSON_MAX_DEPTH nested arrays/objects and at most JSON_MAX_KEYS_PER_OBJECT
 * keys in any one object. See json.c for the full list of what is refused.
 */
#ifndef RP_HTTP_JSON_H
#define RP_HTTP_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/err.h"

#define JSON_MAX_DEPTH 16
#define JSON_MAX_KEYS_PER_OBJECT 256

/*
 * Parse a request body strictly. body need not be NUL-terminated and may be
 * NULL when len is 0; any bytes and any length are safe.
 *
 * RP_OK:        *out is a new json_object the caller must json_object_put().
 *               (For the body "null" *out is NULL, which json-c treats as
 *               the null value; json_object_put(NULL) is a no-op.)
 * RP_EBADJSON:  the body is not acceptable JSON.
 * RP_ETOOLARGE: len exceeds what json-c can take (INT_MAX - 1).
 * RP_ENOMEM:    allocation failed.
 * On any failure *out is NULL and, if why is non-NULL, *why points to a
 * static English reason fit for a client ("duplicate object key", ...). It
 * never contains bytes of the input.
 */
enum rp_err json_parse_strict(const char *body, size_t len,
                              struct json_object **out,
                              const char **why) RP_MUSTCHECK;

/*
 * Serialize o with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE.
 * The returned string is owned by o (freed with it, replaced by the next
 * serialization of o). If len is non-NULL it receives the length. NULL o
 * gives "null". Returns NULL only if json-c cannot allocate.
 */
const char *json_to_text(struct json_object *o, size_t *len);

#endif

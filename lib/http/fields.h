/*
 * fields.h — validate a JSON request body against a field table.
 *
 * In the manner of kcgi's validator table: each accepted field has a type,
 * a hard byte limit, flags and an optional validator. fields_parse() checks
 * the whole body at once and reports every problem as a field error (422),
 * including unknown fields; handlers only ever read validated values.
 */
#ifndef RP_HTTP_FIELDS_H
#define RP_HTTP_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "http/http.h"

enum field_type { FIELD_STRING, FIELD_INT, FIELD_BOOL };

enum field_flags {
	FIELD_REQUIRED = 1 << 0,
	FIELD_NULLABLE = 1 << 1, /* JSON null accepted (value.is_null) */
};

struct field_spec {
	const char *name;
	enum field_type type;
	unsigned flags;
	size_t max_bytes;                          /* strings: hard limit before any validator */
	long long min, max;                        /* integers: inclusive range */
	bool (*check)(const char *s, const char **why); /* strings: optional validator */
};

struct field_value {
	bool present;
	bool is_null;
	const char *str; /* FIELD_STRING: NUL-terminated, owned by req->json */
	size_t len;
	long long i;
	bool b;
};

/*
 * Validate req->json against spec[0..n) and fill out[0..n). Returns RP_OK,
 * RP_EBADREQ when there is no body at all, or RP_EINVAL with field errors
 * recorded on req (unknown fields, missing required ones, wrong types,
 * limits, validator failures).
 */
enum rp_err fields_parse(struct request *req, const struct field_spec *spec, size_t n,
			 struct field_value *out) RP_MUSTCHECK;

#endif

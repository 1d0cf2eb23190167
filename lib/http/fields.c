/*
 * fields.c — field-table validation of JSON bodies (see fields.h).
 */
#include "http/fields.h"

#include <json-c/json.h>
#include <errno.h>
#include <string.h>

#include "core/arena.h"

/* A client-chosen key, made safe to echo back: at most 64 bytes, cut on a UTF-8 boundary. */
static const char *echo_key(struct arena *a, const char *key)
{
	size_t n = strlen(key);
	if (n <= 64)
		{
		const char *s = arena_strdup(a, key);
		return s ? s : "(field)";
	}
	n = 64;
	while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
		n--;
	const char *s = arena_strndup(a, key, n);
	return s ? s : "(field)";
}

static void check_value(struct request *req, const struct field_spec *f, struct json_object *v,
			struct field_value *out)
{
	out->present = true;
	if (v == NULL || json_object_is_type(v, json_type_null)) {
		out->is_null = true;
		if (!(f->flags & FIELD_NULLABLE))
			request_field_error(req, f->name, "must not be null");
		return;
	}
	const char *why = NULL;
	switch (f->type) {
	case FIELD_STRING:
		if (!json_object_is_type(v, json_type_string)) {
			request_field_error(req, f->name, "must be a string");
			return;
		}
		out->str = json_object_get_string(v);
		out->len = (size_t)json_object_get_string_len(v);
		if (f->max_bytes > 0 && out->len > f->max_bytes)
			request_field_error(req, f->name, "is too long");
		else if (f->check != NULL && !f->check(out->str, &why))
			request_field_error(req, f->name, why ? why : "is invalid");
		return;
	case FIELD_INT:
		if (!json_object_is_type(v, json_type_int)) {
			request_field_error(req, f->name, "must be an integer");
			return;
		}
		errno = 0;
		out->i = json_object_get_int64(v);
		if (out->i < f->min || out->i > f->max)
			request_field_error(req, f->name, "is out of range");
		return;
	case FIELD_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			request_field_error(req, f->name, "must be true or false");
			return;
		}
		out->b = json_object_get_boolean(v);
		return;
	}
}

enum rp_err fields_parse(struct request *req, const struct field_spec *spec, size_t n,
			 struct field_value *out)
{
	memset(out, 0, n * sizeof(*out));
	if (req->json == NULL && req->body_len == 0) {
		req->problem.detail = "a JSON object body is required";
		return RP_EBADREQ;
	}
	if (req->json == NULL || !json_object_is_type(req->json, json_type_object)) {
		req->problem.detail = "the body must be a JSON object";
		request_field_error(req, "", "the body must be a JSON object");
		return RP_EINVAL;
	}
	json_object_object_foreach(req->json, key, val)
	{
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(spec[i].name, key) == 0)
				break;
		if (i == n) {
			request_field_error(req, echo_key(req->arena, key), "unknown field");
			continue;
		}
		check_value(req, &spec[i], val, &out[i]);
	}
	for (size_t i = 0; i < n; i++)
		if ((spec[i].flags & FIELD_REQUIRED) && !out[i].present)
			request_field_error(req, spec[i].name, "is required");
	if (req->problem.nerrors > 0) {
		req->problem.detail = "one or more fields are invalid";
		return RP_EINVAL;
	}
	return RP_OK;
}

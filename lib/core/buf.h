/*
 * buf.h — growable byte buffer whose storage comes from an arena.
 * Append failures are sticky: once an append fails, buf.failed stays set and
 * later appends are no-ops, so callers check once at the end.
 */
#ifndef RP_CORE_BUF_H
#define RP_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct buf {
	struct arena *arena;
	char *data; /* always NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;
};

void buf_init(struct buf *b, struct arena *a);
void buf_append(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with quotes), escaping per RFC 8259. */
void buf_json_string(struct buf *b, const char *s);
/* s as a JSON string, or null when s is NULL. */
void buf_json_string_or_null(struct buf *b, const char *s);
/* A JSON integer (decimal, no printf). */
void buf_json_int(struct buf *b, long long v);
/* prefix (e.g. ",\"elo\":") then the integer v. */
void buf_json_field_int(struct buf *b, const char *prefix, long long v);

#endif

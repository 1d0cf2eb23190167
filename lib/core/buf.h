/*
 * buf.h — growable byte buffer whose storage comes from an arena.
 * Append failures are sticky: once an append fails, buf.failed stays set and
 * later appends are no-ops, so callers check once at the end.
 */
#ifndef RP_CORE_BUF_H
#define RP_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct arena;

struct buf {
	struct arena *arena;
	char *data; /* always NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;
};

void buf_init(struct buf *b, struct arena *a);
/* Grow b to hold extra more bytes (and the NUL); false (and failed) when it cannot. */
bool buf_reserve(struct buf *b, size_t extra);

/* Inline: responses are built from hundreds of small appends, most of them
 * string literals whose strlen() the compiler then folds. */
static inline void buf_append(struct buf *b, const char *s, size_t n)
{
	if (b->failed || (b->len + n + 1 > b->cap && !buf_reserve(b, n)))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with quotes), escaping per RFC 8259. */
void buf_json_string(struct buf *b, const char *s);
/* s as a JSON string, or null when s is NULL. */
void buf_json_string_or_null(struct buf *b, const char *s);
/* A JSON integer (decimal, no printf). */
void buf_json_int(struct buf *b, long long v);

/* prefix (e.g. ",\"elo\":") then the integer v. */
static inline void buf_json_field_int(struct buf *b, const char *prefix, long long v)
{
	buf_puts(b, prefix);
	buf_json_int(b, v);
}

/* v in decimal into out, NUL-terminated; returns its length. For hot paths
 * (keys, headers) where snprintf's format parsing costs more than the work. */
#define FMT_LL_MAX 24
size_t fmt_ll(char out[FMT_LL_MAX], long long v);

#endif

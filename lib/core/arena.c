/*
 * arena.c — chunked bump allocator, one per request.
 *
 * A request's handlers allocate freely and never free; the worker calls
 * arena_reset() after the response is written. The first chunk is kept
 * across requests so a steady-state worker does no malloc at all for small
 * requests; extra chunks are released on reset so one large request does
 * not pin memory for the life of the worker (worker RSS must stay flat).
 *
 * Invariant: used_total never exceeds ARENA_MAX_BYTES.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct chunk *head;  /* current chunk (most recent) */
	struct chunk *first; /* kept across resets */
	size_t total;        /* bytes of chunk payload currently owned */
};

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct arena *arena_new(size_t first_chunk)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	if (first_chunk < 1024)
		first_chunk = 1024;
	a->first = chunk_new(first_chunk);
	if (a->first == NULL) {
		free(a);
		return NULL;
	}
	a->head = a->first;
	a->total = first_chunk;
	return a;
}

static void free_extra_chunks(struct arena *a)
{
	struct chunk *c = a->head;
	while (c != NULL && c != a->first) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

void arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	free_extra_chunks(a);
	free(a->first);
	free(a);
}

void arena_reset(struct arena *a)
{
	free_extra_chunks(a);
	a->head = a->first;
	a->first->used = 0;
	a->first->next = NULL;
	a->total = a->first->size;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > ARENA_MAX_BYTES)
		return NULL;
	struct chunk *c = a->head;
	size_t off = (c->used + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
	if (off + n > c->size) {
		size_t size = c->size * 2;
		if (size < n + ARENA_ALIGN)
			size = n + ARENA_ALIGN;
		if (a->total + size > ARENA_MAX_BYTES) {
			size = n + ARENA_ALIGN;
			if (a->total + size > ARENA_MAX_BYTES)
				return NULL;
		}
		struct chunk *nc = chunk_new(size);
		if (nc == NULL)
			return NULL;
		nc->next = c;
		a->head = nc;
		a->total += size;
		c = nc;
		off = 0;
	}
	c->used = off + n;
	return c->data + off;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = arena_alloc(a, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const struct arena *a)
{
	size_t n = 0;
	for (const struct chunk *c = a->head; c != NULL; c = c->next)
		n += c->used;
	return n;
}

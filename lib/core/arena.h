/*
 * arena.h — per-request memory.
 *
 * Like an nginx pool: a request allocates from its arena and everything is
 * released at once by arena_reset() when the response has been written.
 * Nothing allocated here may outlive the request. The arena grows by
 * chunks up to a hard cap (ARENA_MAX_BYTES) so a hostile request cannot make
 * a worker grow without bound; allocation past the cap returns NULL.
 */
#ifndef RP_CORE_ARENA_H
#define RP_CORE_ARENA_H

#include <stddef.h>

#define ARENA_MAX_BYTES (8u * 1024u * 1024u)

struct arena;

struct arena *arena_new(size_t first_chunk);
void arena_free(struct arena *a);
/* Release everything; keeps the first chunk for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned; NULL when the cap is reached. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
size_t arena_used(const struct arena *a);

#endif

/* SPDX-License-Identifier: MIT
 *
 * A bump allocator for memory that lives exactly as long as one piece of work (an HTTP request):
 * allocate as you go, never free one block, release everything with one arena_free. Memory comes
 * in chunks: the first is inline in the arena (one malloc for a small request), later ones double
 * up to ARENA_CHUNK_MAX, and a block larger than a chunk gets a chunk of its own.
 *
 * Limit: an arena holds at most its cap (ARENA_MAX_BYTES unless arena_create is given less).
 * Past the cap the allocators return NULL instead of aborting: how much a handler allocates can
 * depend on input, and an input must get an answer (413), not bring the server down. Ordinary
 * out-of-memory below the cap aborts, as xmalloc does.
 *
 * Things the arena does not own (a jansson tree, a row with malloc'ed strings) are handed over
 * with arena_on_free: the hooks run in reverse order of registration, before the memory goes.
 * An arena is not thread-safe: one request is served by one thread at a time.
 */
#ifndef STREAMHUB_CORE_ARENA_H
#define STREAMHUB_CORE_ARENA_H

#include <stddef.h>

/* The default cap of one arena: a page of API_PAGE_MAX + 1 profile rows is about 360 KB. */
#define ARENA_MAX_BYTES ((size_t)8 << 20)
/* Chunks double from ARENA_FIRST_CHUNK up to this; larger blocks get a chunk of their own. */
#define ARENA_CHUNK_MAX ((size_t)256 << 10)
/* The inline first chunk, allocated with the arena itself. */
#define ARENA_FIRST_CHUNK ((size_t)4 << 10)

typedef struct arena arena;

/* max_bytes 0 means ARENA_MAX_BYTES. Aborts on out-of-memory, as xmalloc does. */
arena *arena_create(size_t max_bytes);
/* Runs the hooks (last registered first), then frees every chunk and the arena. NULL is a
 * no-op. */
void arena_free(arena *a);
/* As arena_free, but keeps the arena and its inline chunk for reuse. */
void arena_reset(arena *a);

/* n bytes aligned for any type; NULL past the cap. n 0 gives a valid unique pointer. */
void *arena_alloc(arena *a, size_t n);
/* Zeroed n * size bytes; NULL past the cap or when n * size overflows. */
void *arena_calloc(arena *a, size_t n, size_t size);
/* NULL past the cap (or for a NULL s). */
char *arena_strdup(arena *a, const char *s);
char *arena_sprintf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fn(arg) runs when the arena is freed or reset. 0, or ERR_TOO_LARGE past the cap: then the
 * hook is not registered and the caller still owns arg. */
int arena_on_free(arena *a, void (*fn)(void *arg), void *arg);

/* Bytes of chunk memory held, which is what the cap counts. */
size_t arena_size(const arena *a);

#endif

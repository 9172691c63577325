/* SPDX-License-Identifier: MIT
 *
 * The request arena (arena.h). Chunks form a list whose head is the chunk being bumped; a block
 * too large for the next chunk gets a dedicated chunk linked behind the head, so the head keeps
 * its free space. Hooks are nodes allocated from the arena itself, pushed on a list, so they run
 * last-registered first, which is the order that frees a tree's children before its parent.
 */
#include "core/arena.h"

#include "core/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN _Alignof(max_align_t)

typedef struct chunk {
    struct chunk *next;
    size_t cap; /* usable bytes in data */
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
} chunk;

typedef struct hook {
    struct hook *next;
    void (*fn)(void *);
    void *arg;
} hook;

struct arena {
    chunk *head;
    hook *hooks;
    size_t max_bytes;
    size_t held;      /* sum of chunk caps, counted against max_bytes */
    size_t next_size; /* size of the next ordinary chunk */
    chunk *first;     /* inline: allocated with the arena, right after it */
};

static size_t align_up(size_t n)
{
    return (n + ALIGN - 1) & ~(ALIGN - 1);
}

arena *arena_create(size_t max_bytes)
{
    /* malloc's alignment is max_align_t's, so the chunk after the aligned struct is aligned */
    arena *a = xmalloc(align_up(sizeof *a) + sizeof(chunk) + ARENA_FIRST_CHUNK);
    a->max_bytes = max_bytes ? max_bytes : ARENA_MAX_BYTES;
    a->first = (chunk *)((unsigned char *)a + align_up(sizeof *a));
    a->first->next = NULL;
    a->first->cap = ARENA_FIRST_CHUNK;
    a->first->used = 0;
    a->head = a->first;
    a->hooks = NULL;
    a->held = ARENA_FIRST_CHUNK;
    a->next_size = ARENA_FIRST_CHUNK * 2;
    return a;
}

static void run_hooks(arena *a)
{
    /* a hook may not allocate from the arena, but it may be the last user of what it frees */
    while (a->hooks) {
        hook *h = a->hooks;
        a->hooks = h->next;
        h->fn(h->arg);
    }
}

void arena_reset(arena *a)
{
    if (!a)
        return;
    run_hooks(a);
    for (chunk *c = a->head; c;) {
        chunk *next = c->next;
        if (c != a->first)
            free(c);
        c = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->held = ARENA_FIRST_CHUNK;
    a->next_size = ARENA_FIRST_CHUNK * 2;
}

void arena_free(arena *a)
{
    if (!a)
        return;
    arena_reset(a);
    free(a);
}

/* A new chunk of cap bytes, or NULL past the cap. */
static chunk *new_chunk(arena *a, size_t cap)
{
    if (cap > a->max_bytes || a->held > a->max_bytes - cap)
        return NULL;
    chunk *c = xmalloc(sizeof *c + cap);
    c->cap = cap;
    c->used = 0;
    a->held += cap;
    return c;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n > a->max_bytes)
        return NULL;
    size_t need = align_up(n ? n : 1);
    chunk *h = a->head;
    if (h->cap - h->used < need) {
        bool big = need > a->next_size;
        chunk *c = new_chunk(a, big ? need : a->next_size);
        if (!c)
            return NULL;
        if (big) {
            /* its own chunk, linked behind the head so the head keeps its free space */
            c->next = h->next;
            h->next = c;
            c->used = need;
            return c->data;
        }
        c->next = h;
        a->head = h = c;
        if (a->next_size < ARENA_CHUNK_MAX)
            a->next_size *= 2;
    }
    void *p = h->data + h->used;
    h->used += need;
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *arena_sprintf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int arena_on_free(arena *a, void (*fn)(void *arg), void *arg)
{
    hook *h = arena_alloc(a, sizeof *h);
    if (!h)
        return ERR_TOO_LARGE;
    h->fn = fn;
    h->arg = arg;
    h->next = a->hooks;
    a->hooks = h;
    return 0;
}

size_t arena_size(const arena *a)
{
    return a->held;
}

/* SPDX-License-Identifier: MIT
 *
 * The request arena (src/core/arena.c): alignment, chunk growth, blocks larger than a chunk, the
 * cap (NULL, not an abort), hooks in reverse order, and reuse after arena_reset. Run under ASan
 * (tests/run-all.sh) it also checks that every block is inside memory the arena owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/util.h"

static void test_alignment(void **state)
{
    arena *a = arena_create(0);
    for (size_t n = 0; n < 100; n++) {
        unsigned char *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xab, n);
    }
    assert_ptr_not_equal(arena_alloc(a, 0), arena_alloc(a, 0));
    arena_free(a);
}

static void test_growth_keeps_blocks(void **state)
{
    arena *a = arena_create(0);
    size_t before = arena_size(a);
    enum { N = 2000 };
    int *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = arena_alloc(a, 100);
        assert_non_null(blocks[i]);
        *blocks[i] = i;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(*blocks[i], i);
    /* 200 KB in chunks that double: more than the first chunk, far less than one per block */
    assert_true(arena_size(a) > before);
    assert_true(arena_size(a) < (size_t)N * 112 * 2);
    arena_free(a);
}

static void test_big_block_leaves_head_usable(void **state)
{
    arena *a = arena_create(0);
    char *small = arena_strdup(a, "before");
    size_t big_n = ARENA_CHUNK_MAX * 2;
    unsigned char *big = arena_calloc(a, big_n, 1);
    assert_non_null(big);
    for (size_t i = 0; i < big_n; i += 4096)
        assert_int_equal(big[i], 0);
    big[big_n - 1] = 1;
    size_t held = arena_size(a);
    /* the next small block comes from the first chunk: nothing new is held */
    char *after = arena_strdup(a, "after");
    assert_non_null(after);
    assert_int_equal(arena_size(a), held);
    assert_string_equal(small, "before");
    arena_free(a);
}

static void test_cap_answers_null(void **state)
{
    arena *a = arena_create(64 << 10);
    assert_null(arena_alloc(a, 65 << 10));
    assert_null(arena_calloc(a, SIZE_MAX / 2, 4)); /* overflow */
    assert_null(arena_alloc(a, SIZE_MAX));
    int got = 0;
    while (arena_alloc(a, 1000))
        got++;
    assert_true(got > 30 && got < 66);
    assert_true(arena_size(a) <= (64 << 10));
    /* keeps refusing, without aborting, and frees cleanly */
    assert_null(arena_alloc(a, 1000));
    arena_free(a);
}

static void test_strings(void **state)
{
    arena *a = arena_create(0);
    assert_string_equal(arena_strdup(a, "hello"), "hello");
    assert_null(arena_strdup(a, NULL));
    char *s = arena_sprintf(a, "%s-%d", "id", 42);
    assert_string_equal(s, "id-42");
    char longer[10000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    assert_string_equal(arena_sprintf(a, "%s", longer), longer);
    arena_free(a);
}

static int order[8];
static int n_order;
static void record(void *arg)
{
    order[n_order++] = (int)(intptr_t)arg;
}

static void test_hooks_reverse_order(void **state)
{
    n_order = 0;
    arena *a = arena_create(0);
    for (intptr_t i = 1; i <= 3; i++)
        assert_int_equal(arena_on_free(a, record, (void *)i), 0);
    arena_free(a);
    assert_int_equal(n_order, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    arena_free(NULL);
}

static void test_hook_frees_owned_memory(void **state)
{
    arena *a = arena_create(0);
    char *owned = xstrdup("heap string owned by the arena"); /* ASan: leaks if the hook is lost */
    assert_int_equal(arena_on_free(a, free, owned), 0);
    arena_free(a);
}

static void test_reset_reuses(void **state)
{
    n_order = 0;
    arena *a = arena_create(0);
    size_t first = arena_size(a);
    for (int i = 0; i < 100; i++)
        assert_non_null(arena_alloc(a, 1000));
    arena_on_free(a, record, (void *)7);
    assert_true(arena_size(a) > first);
    arena_reset(a);
    assert_int_equal(n_order, 1);
    assert_int_equal(order[0], 7);
    assert_int_equal(arena_size(a), first);
    char *s = arena_strdup(a, "again");
    assert_string_equal(s, "again");
    arena_reset(a);
    assert_int_equal(n_order, 1); /* hooks run once */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_growth_keeps_blocks),
        cmocka_unit_test(test_big_block_leaves_head_usable),
        cmocka_unit_test(test_cap_answers_null),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_hooks_reverse_order),
        cmocka_unit_test(test_hook_frees_owned_memory),
        cmocka_unit_test(test_reset_reuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

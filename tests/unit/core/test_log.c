/* SPDX-License-Identifier: MIT
 *
 * Buffered log lines (src/core/log.c): with no interval a line is written at once; with one,
 * lines wait in their thread's buffer until it fills (written whole, never split), until the
 * interval passes, or until log_flush_all, which also writes out other threads' buffers. stderr
 * is pointed at a temporary file for the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static FILE *captured;

/* Everything written to stderr since the test began. */
static char *written(void)
{
    fflush(captured);
    long n = ftell(captured);
    char *text = calloc(1, (size_t)n + 1);
    if (pread(fileno(captured), text, (size_t)n, 0) != n)
        fail();
    fseek(captured, 0, SEEK_END);
    return text;
}

static int setup(void **state)
{
    captured = tmpfile();
    assert_non_null(captured);
    dup2(fileno(captured), STDERR_FILENO);
    return 0;
}

static int teardown(void **state)
{
    log_flush_all();
    log_set_flush_interval_ms(0);
    fclose(captured); /* stderr keeps its own descriptor of the file */
    return 0;
}

static void test_unbuffered_line_is_written_at_once(void **state)
{
    log_set_flush_interval_ms(0);
    log_write_buffered("one\n", 4);
    char *text = written();
    assert_string_equal(text, "one\n");
    free(text);
}

static void test_lines_wait_for_flush_in_order(void **state)
{
    log_set_flush_interval_ms(60000);
    log_write_buffered("a\n", 2);
    log_write_buffered("b\n", 2);
    char *text = written();
    assert_string_equal(text, "");
    free(text);
    log_flush_all();
    text = written();
    assert_string_equal(text, "a\nb\n");
    free(text);
}

static void test_full_buffer_is_written_whole(void **state)
{
    log_set_flush_interval_ms(60000);
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    int lines = 0;
    char *text = NULL;
    for (; lines < 1000; lines++) {
        log_write_buffered(line, 100);
        free(text);
        text = written();
        if (*text)
            break;
    }
    /* the buffer went out when the next line did not fit: whole lines, that line not among them */
    size_t len = strlen(text);
    assert_true(len > 0 && len % 100 == 0);
    assert_int_equal(len / 100, lines);
    free(text);
    log_flush_all();
    text = written();
    assert_int_equal(strlen(text), (size_t)(lines + 1) * 100);
    free(text);
}

static void test_old_line_goes_out_with_the_next(void **state)
{
    log_set_flush_interval_ms(1);
    log_write_buffered("old\n", 4);
    usleep(5000);
    log_write_buffered("new\n", 4);
    char *text = written();
    assert_string_equal(text, "old\nnew\n");
    free(text);
}

static void *write_one(void *arg)
{
    log_write_buffered(arg, strlen(arg));
    return NULL;
}

static void test_flush_all_writes_other_threads(void **state)
{
    log_set_flush_interval_ms(60000);
    pthread_t t;
    pthread_create(&t, NULL, write_one, "from another thread\n");
    pthread_join(t, NULL);
    char *text = written();
    assert_string_equal(text, "");
    free(text);
    log_flush_all();
    text = written();
    assert_string_equal(text, "from another thread\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unbuffered_line_is_written_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_wait_for_flush_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_buffer_is_written_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_line_goes_out_with_the_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_all_writes_other_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

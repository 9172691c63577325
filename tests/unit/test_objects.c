/* SPDX-License-Identifier: MIT
 *
 * The local backend of the object store on a real directory: put, open (size, mtime), list,
 * delete by prefix, and keys that try to leave the root. The S3 backend's --object-store parsing
 * and the circuit breaker it goes through (the S3 requests themselves are tested end to end
 * against a real S3 server: tests/e2e/s3.test.mjs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/breaker.h"
#include "scratch.h"

#include "core/util.h"
#include "store/objects.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int listed;
static void count(void *arg, const char *key, const object_info *info)
{
    assert_true(!strncmp(key, "media/7/", 8));
    listed++;
}

static void test_local_backend(void **state)
{
    char root[] = "/tmp/sh-objects-XXXXXX";
    scratch_dir_make(root);
    objects *o;
    assert_int_equal(objects_open_local(root, &o), 0);
    char work[4300], src[4400];
    assert_int_equal(objects_workdir(o, "media/7", work, sizeof work), 0);
    snprintf(src, sizeof src, "%s/incoming.bin", root);
    write_file(src, "hello objects");
    assert_int_equal(objects_put_file(o, "media/7/hls/240p/seg000.ts", src), 0);
    assert_int_not_equal(access(src, F_OK), 0); /* moved, not copied */
    int fd;
    object_info info;
    assert_int_equal(objects_open_file(o, "media/7/hls/240p/seg000.ts", &fd, &info), 0);
    assert_int_equal(info.size, 13);
    assert_true(info.mtime_ns > 0);
    char got[32] = "";
    assert_int_equal(pread(fd, got, sizeof got - 1, 6), 7); /* a range read */
    assert_string_equal(got, "objects");
    close(fd);
    snprintf(src, sizeof src, "%s/poster.jpg", work);
    write_file(src, "jpeg");
    listed = 0;
    assert_int_equal(objects_list(o, "media/7", count, NULL), 2);
    assert_int_equal(listed, 2);
    /* keys cannot step out of the root */
    const char *bad[] = {"../etc/passwd", "media/../../x", "/abs", "media//x", "media/./x", "",
                         "media/x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(objects_open_file(o, bad[i], &fd, &info), ERR_NOT_FOUND);
    assert_int_equal(objects_put_file(o, "../escape", src), ERR_INVALID);
    assert_int_equal(objects_delete_prefix(o, "media/7"), 0);
    assert_int_equal(objects_open_file(o, "media/7/hls/240p/seg000.ts", &fd, &info), ERR_NOT_FOUND);
    assert_int_equal(objects_list(o, "media/7", count, NULL), 0);
    assert_int_equal(objects_delete_prefix(o, "media/7"), 0); /* already gone: fine */
    objects_close(o);
    scratch_dir_remove(root);
}

/* put_dir: one rename locally, replacing what the prefix held; a range read from an offset */
static void test_local_put_dir_and_range(void **state)
{
    char root[] = "/tmp/sh-objects-XXXXXX", dir[4300], path[4400];
    assert_non_null(mkdtemp(root));
    objects *o;
    assert_int_equal(objects_open("", root, &o, path, sizeof path), 0);
    assert_string_equal(objects_backend_name(o), "local");
    assert_false(objects_remote(o));
    for (int round = 0; round < 2; round++) {
        snprintf(dir, sizeof dir, "%s/part%d", root, round);
        assert_int_equal(mkdir(dir, 0700), 0);
        snprintf(path, sizeof path, "%s/%s", dir, round ? "seg001.ts" : "seg000.ts");
        write_file(path, "0123456789");
        snprintf(path, sizeof path, "%s/index.m3u8", dir);
        write_file(path, "#EXTM3U\n");
        assert_int_equal(objects_put_dir(o, "media/9/hls/240p", dir, "index.m3u8"), 0);
    }
    object_info info;
    assert_int_equal(objects_stat(o, "media/9/hls/240p/seg001.ts", &info), 0);
    assert_int_equal(info.size, 10);
    /* the first round's segment went with the rest of what the prefix held */
    assert_int_equal(objects_stat(o, "media/9/hls/240p/seg000.ts", &info), ERR_NOT_FOUND);
    int fd;
    uint64_t offset;
    assert_int_equal(objects_open_range(o, "media/9/hls/240p/seg001.ts", 4, 3, &fd, &offset), 0);
    char got[4] = "";
    assert_int_equal(pread(fd, got, 3, (off_t)offset), 3);
    assert_string_equal(got, "456");
    close(fd);
    /* a --object-store value that is neither empty nor s3:// */
    assert_int_equal(objects_open("ftp://x", root, &(objects *){NULL}, path, sizeof path),
                     ERR_INVALID);
    objects_close(o);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

static void test_s3_parse(void **state)
{
    objects_s3_config c;
    char err[256];
    assert_int_equal(objects_s3_parse("s3://media-bucket?endpoint=http://127.0.0.1:9000&region=eu-west-3",
                                      &c, err, sizeof err),
                     0);
    assert_string_equal(c.bucket, "media-bucket");
    assert_string_equal(c.endpoint, "http://127.0.0.1:9000");
    assert_string_equal(c.region, "eu-west-3");
    assert_true(c.path_style); /* an endpoint: path-style addressing */
    assert_int_equal(c.retries, 2);
    /* percent-encoded endpoint, a trailing slash dropped, knobs */
    assert_int_equal(objects_s3_parse("s3://b12?endpoint=http%3A%2F%2Flocalhost%3A4569%2F&timeout_ms=500"
                                      "&retries=0&breaker_failures=3&breaker_cooldown_ms=2000"
                                      "&multipart_threshold=1048576&part_size=5242880&list_max_keys=7",
                                      &c, err, sizeof err),
                     0);
    assert_string_equal(c.endpoint, "http://localhost:4569");
    assert_int_equal(c.timeout_ms, 500);
    assert_int_equal(c.retries, 0);
    assert_int_equal(c.breaker_failures, 3);
    assert_int_equal(c.breaker_cooldown_ms, 2000);
    assert_int_equal(c.multipart_threshold, 1048576);
    assert_int_equal(c.part_size, 5242880);
    assert_int_equal(c.list_max_keys, 7);
    assert_string_equal(c.region, "us-east-1"); /* the default */
    /* AWS itself: virtual-hosted addressing */
    assert_int_equal(objects_s3_parse("s3://bucket", &c, err, sizeof err), 0);
    assert_false(c.path_style);
    assert_string_equal(c.endpoint, "");
    const char *bad[] = {
        "http://bucket",                          /* not s3:// */
        "s3://",                                  /* no bucket */
        "s3://Bucket_Upper",                      /* not a bucket name */
        "s3://ab",                                /* too short */
        "s3://bucket/some/path",                  /* a path */
        "s3://bucket?endpoint=ftp://x",           /* not http(s) */
        "s3://bucket?endpoint=http://h/p",        /* a path in the endpoint */
        "s3://bucket?endpoint=http%3",            /* broken escape */
        "s3://bucket?colour=blue",                /* unknown parameter */
        "s3://bucket?region",                     /* no value */
        "s3://bucket?retries=11",                 /* out of range */
        "s3://bucket?part_size=1024",             /* below S3's 5 MiB part minimum */
        "s3://bucket?timeout_ms=abc",             /* not a number */
        "s3://bucket?region=us-east-1:evil",      /* would change the signing scope */
        "s3://bucket?list_max_keys=0",            /* S3 pages hold 1..1000 keys */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(objects_s3_parse(bad[i], &c, err, sizeof err), ERR_INVALID);
        assert_true(err[0] != '\0');
    }
}

/* Credentials come from the environment only: without them the store does not open. */
static void test_s3_needs_credentials(void **state)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    objects *o = NULL;
    char err[256];
    assert_int_equal(objects_open("s3://bucket?endpoint=http://127.0.0.1:1", "/tmp", &o, err,
                                  sizeof err),
                     ERR_INVALID);
    assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
    assert_null(o);
}

static void test_breaker(void **state)
{
    breaker b;
    breaker_init(&b, 3, 1000);
    int64_t t = 5000;
    /* failures below the threshold, then a success: still closed, count restarts */
    assert_true(breaker_allow(&b, t));
    breaker_failure(&b, t);
    breaker_failure(&b, t);
    breaker_success(&b);
    breaker_failure(&b, t);
    breaker_failure(&b, t);
    assert_int_equal(breaker_get_state(&b, NULL, NULL), BREAKER_CLOSED);
    breaker_failure(&b, t); /* the third in a row */
    uint64_t opened, rejected;
    assert_int_equal(breaker_get_state(&b, &opened, &rejected), BREAKER_OPEN);
    assert_int_equal(opened, 1);
    /* open: fail fast until the cool-down is over */
    assert_false(breaker_allow(&b, t + 1));
    assert_false(breaker_allow(&b, t + 999));
    breaker_get_state(&b, NULL, &rejected);
    assert_int_equal(rejected, 2);
    /* half-open: exactly one probe; its failure opens it again for a whole cool-down */
    assert_true(breaker_allow(&b, t + 1000));
    assert_false(breaker_allow(&b, t + 1000));
    breaker_failure(&b, t + 1100);
    assert_int_equal(breaker_get_state(&b, &opened, NULL), BREAKER_OPEN);
    assert_int_equal(opened, 2);
    assert_false(breaker_allow(&b, t + 2099));
    /* the next probe succeeds: closed, everyone through */
    assert_true(breaker_allow(&b, t + 2100));
    breaker_success(&b);
    assert_int_equal(breaker_get_state(&b, NULL, NULL), BREAKER_CLOSED);
    assert_true(breaker_allow(&b, t + 2101));
    assert_true(breaker_allow(&b, t + 2101));
    /* a probe that ends saying nothing about the service frees the slot for another */
    for (int i = 0; i < 3; i++)
        breaker_failure(&b, t + 3000);
    assert_true(breaker_allow(&b, t + 4000));
    breaker_release(&b);
    assert_true(breaker_allow(&b, t + 4000));
    breaker_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local_backend),
                                       cmocka_unit_test(test_local_put_dir_and_range),
                                       cmocka_unit_test(test_s3_parse),
                                       cmocka_unit_test(test_s3_needs_credentials),
                                       cmocka_unit_test(test_breaker)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

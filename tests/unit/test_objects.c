/* SPDX-License-Identifier: MIT
 *
 * The local backend of the object store on a real directory: put, open (size, mtime), list,
 * delete by prefix, and keys that try to leave the root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    assert_int_equal(objects_open(o, "media/7/hls/240p/seg000.ts", &fd, &info), 0);
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
        assert_int_equal(objects_open(o, bad[i], &fd, &info), ERR_NOT_FOUND);
    assert_int_equal(objects_put_file(o, "../escape", src), ERR_INVALID);
    assert_int_equal(objects_delete_prefix(o, "media/7"), 0);
    assert_int_equal(objects_open(o, "media/7/hls/240p/seg000.ts", &fd, &info), ERR_NOT_FOUND);
    assert_int_equal(objects_list(o, "media/7", count, NULL), 0);
    assert_int_equal(objects_delete_prefix(o, "media/7"), 0); /* already gone: fine */
    objects_close(o);
    scratch_dir_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local_backend)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

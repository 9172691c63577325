/* SPDX-License-Identifier: MIT
 *
 * jobs/images.c with the real libvips, which it loads on first use: nothing is mapped by
 * images_init, the first images_process (called from two threads at once) loads the library and
 * writes the display copy and thumbnails, a file that is not an image is refused, and a library
 * that cannot be loaded fails every call with its reason instead of crashing (in a child
 * process, whose load has not happened yet).
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"

#include "core/util.h"
#include "jobs/images.h"

static char dir[] = "/tmp/sh-images-XXXXXX";

static int setup(void **state)
{
    scratch_dir_make(dir);
    scratch_sh("cd %s && ffmpeg -loglevel error -f lavfi -i testsrc=size=1200x800 -frames:v 1 "
               "photo.jpg && mkdir out1 out2 out3 && head -c 5000 /dev/urandom > noise.bin",
               dir);
    return 0;
}

static int teardown(void **state)
{
    scratch_dir_remove(dir);
    return 0;
}

/* True when a mapping of this process comes from libvips. */
static bool vips_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "libvips") != NULL;
    fclose(f);
    return found;
}

static void test_missing_library_fails_each_call(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        images_init("test", "libstreamhub-no-such-vips.so.0");
        char in[512], out[512], err[512] = "";
        snprintf(in, sizeof in, "%s/photo.jpg", dir);
        snprintf(out, sizeof out, "%s/out3", dir);
        int w = 0, h = 0, ok = 1;
        for (int i = 0; i < 2; i++) {
            err[0] = '\0';
            ok &= images_process(in, out, &w, &h, err, sizeof err) == ERR_INTERNAL;
            ok &= strstr(err, "cannot load libvips") && strstr(err, "no-such-vips");
        }
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct {
    const char *out;
    int rc, width, height;
    char err[512];
} job;

static void *process(void *arg)
{
    job *j = arg;
    char in[512];
    snprintf(in, sizeof in, "%s/photo.jpg", dir);
    j->rc = images_process(in, j->out, &j->width, &j->height, j->err, sizeof j->err);
    return NULL;
}

static void test_loaded_by_the_first_image(void **state)
{
    images_init("test", IMAGES_LIBRARY);
#ifndef STREAMHUB_LINK_VIPS /* sanitizer builds link it (meson.build) */
    assert_false(vips_mapped());
#endif
    char out1[512], out2[512];
    snprintf(out1, sizeof out1, "%s/out1", dir);
    snprintf(out2, sizeof out2, "%s/out2", dir);
    job jobs[2] = {{.out = out1}, {.out = out2}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) /* both race the load */
        assert_int_equal(pthread_create(&t[i], NULL, process, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc != 0)
            fail_msg("images_process: %s", jobs[i].err);
        assert_int_equal(jobs[i].width, 1200);
        assert_int_equal(jobs[i].height, 800);
        static const char *files[] = {"image.jpg", "thumb_160.jpg", "thumb_480.jpg",
                                      "thumb_720.jpg"};
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            char path[600];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", jobs[i].out, files[k]);
            assert_int_equal(stat(path, &st), 0);
            assert_true(st.st_size > 0);
        }
    }
    assert_true(vips_mapped());
}

static void test_not_an_image_is_refused(void **state)
{
    char in[512], out[512], err[512] = "";
    snprintf(in, sizeof in, "%s/noise.bin", dir);
    snprintf(out, sizeof out, "%s/out3", dir);
    int w, h;
    assert_int_equal(images_process(in, out, &w, &h, err, sizeof err), ERR_INVALID);
    assert_non_null(strstr(err, "not a readable image"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: the child must fork before this process has loaded libvips */
        cmocka_unit_test(test_missing_library_fails_each_call),
        cmocka_unit_test(test_loaded_by_the_first_image),
        cmocka_unit_test(test_not_an_image_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

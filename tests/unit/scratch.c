/* SPDX-License-Identifier: MIT
 *
 * The unit tests' scratch directories (scratch.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "scratch.h"

void scratch_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof cmd);
    assert_int_equal(system(cmd), 0);
}

void scratch_dir_make(char *dir)
{
    assert_non_null(mkdtemp(dir));
}

void scratch_dir_remove(const char *dir)
{
    scratch_sh("rm -rf '%s'", dir);
}

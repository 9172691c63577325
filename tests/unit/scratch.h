/* SPDX-License-Identifier: MIT
 *
 * Scratch files for the unit tests that drive real tools (ffmpeg, libvips): a fresh temporary
 * directory, shell commands that fill it (fixtures made by ffmpeg's test sources rather than
 * checked-in media), and its removal. Each call asserts that it worked.
 */
#ifndef STREAMHUB_TESTS_UNIT_SCRATCH_H
#define STREAMHUB_TESTS_UNIT_SCRATCH_H

/* Runs a shell command formatted like printf (at most 2 KiB); asserts it exited 0. */
void scratch_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Makes the directory: dir is a mkdtemp template ("/tmp/sh-x-XXXXXX"), filled in place. */
void scratch_dir_make(char *dir);
/* Removes the directory and everything in it. */
void scratch_dir_remove(const char *dir);

#endif

/* SPDX-License-Identifier: MIT
 *
 * Still images with libvips: a display copy (at most 2048 px on the long side) and thumbnails
 * 160, 480 and 720 px wide, all JPEG, turned upright from the EXIF orientation and stripped of
 * metadata (EXIF, GPS, XMP), so a photo's location never leaves the server. The original is kept
 * for its owner only.
 */
#ifndef STREAMHUB_JOBS_IMAGES_H
#define STREAMHUB_JOBS_IMAGES_H

#include <stddef.h>

/* The library loaded on the first image (Debian 12: package libvips42). */
#define IMAGES_LIBRARY "libvips.so.42"

/* Once per process, before any other call: the program name libvips is started with and the
 * library to load (IMAGES_LIBRARY). Loads nothing: the first images_process does. */
void images_init(const char *argv0, const char *library);
/* Writes out_dir/image.jpg and out_dir/thumb_160.jpg, thumb_480.jpg, thumb_720.jpg; *width and
 * *height are the upright size of the original. ERR_INVALID when libvips cannot read it;
 * ERR_INTERNAL, with the reason in err, when libvips cannot be loaded (then for every call: the
 * load is tried once per process). */
int images_process(const char *input, const char *out_dir, int *width, int *height, char *err,
                   size_t err_size);

#endif

/* SPDX-License-Identifier: MIT
 *
 * Images: see images.h. vips_thumbnail decodes only as much as the target size needs (shrink on
 * load for JPEG) and applies the orientation; "strip" drops every metadata block on save.
 */
#include "jobs/images.h"

#include "core/util.h"

#include <stdio.h>
#include <vips/vips.h>

int images_init(const char *argv0)
{
    return VIPS_INIT(argv0) == 0 ? 0 : ERR_INTERNAL;
}

static int save_thumbnail(const char *input, const char *path, int width, int height, char *err,
                          size_t err_size)
{
    VipsImage *out = NULL;
    /* width x height is a bounding box; never enlarged */
    if (vips_thumbnail(input, &out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL) != 0) {
        snprintf(err, err_size, "not a readable image: %s", vips_error_buffer());
        vips_error_clear();
        return ERR_INVALID;
    }
    int rc = vips_jpegsave(out, path, "Q", 85, "strip", TRUE, NULL);
    g_object_unref(out);
    if (rc != 0) {
        snprintf(err, err_size, "cannot write %s: %s", path, vips_error_buffer());
        vips_error_clear();
        return ERR_IO;
    }
    return 0;
}

int images_process(const char *input, const char *out_dir, int *width, int *height, char *err,
                   size_t err_size)
{
    VipsImage *probe = vips_image_new_from_file(input, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!probe) {
        snprintf(err, err_size, "not a readable image: %s", vips_error_buffer());
        vips_error_clear();
        return ERR_INVALID;
    }
    int w = vips_image_get_width(probe), h = vips_image_get_height(probe), orientation = 1;
    if (vips_image_get_typeof(probe, VIPS_META_ORIENTATION))
        vips_image_get_int(probe, VIPS_META_ORIENTATION, &orientation);
    g_object_unref(probe);
    bool turned = orientation >= 5 && orientation <= 8; /* 90 or 270 degrees */
    *width = turned ? h : w;
    *height = turned ? w : h;
    char path[4200];
    snprintf(path, sizeof path, "%s/image.jpg", out_dir);
    int rc = save_thumbnail(input, path, 2048, 2048, err, err_size);
    static const int widths[] = {160, 480, 720};
    for (size_t i = 0; rc == 0 && i < sizeof widths / sizeof widths[0]; i++) {
        snprintf(path, sizeof path, "%s/thumb_%d.jpg", out_dir, widths[i]);
        rc = save_thumbnail(input, path, widths[i], 100000, err, err_size);
    }
    return rc;
}

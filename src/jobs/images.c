/* SPDX-License-Identifier: MIT
 *
 * Images: see images.h. vips_thumbnail decodes only as much as the target size needs (shrink on
 * load for JPEG) and applies the orientation; "strip" drops every metadata block on save.
 *
 * libvips is loaded on the first image, not linked: linking it maps some 30 MiB of libraries
 * (poppler, librsvg, ImageMagick, OpenEXR, x265...) and starts its type system in every process,
 * although most never see an image. The first images_process dlopens it once (pthread_once, so
 * two job workers cannot race the load) and resolves the few functions used here; the prototypes
 * still come from the headers, through __typeof__, so a call that does not match the library's
 * signature fails to compile. A library that cannot be loaded is remembered and every image job
 * fails with its reason (the process must be restarted once it is installed); nothing crashes.
 */
#include "jobs/images.h"

#include "core/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

static const char *program = "streamhub";
static const char *library = IMAGES_LIBRARY;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* Written by load() only, read after pthread_once returns (which orders them). */
static bool loaded;
static char load_error[512];

#ifdef STREAMHUB_LINK_VIPS
/* Sanitizer builds link libvips (meson.build says why): one reference keeps --as-needed from
 * dropping it. */
__attribute__((used)) static __typeof__(vips_init) *const linked_vips = vips_init;
#endif

/* The functions used here, resolved from the library by name. */
static struct {
    __typeof__(vips_version) *version;
    __typeof__(vips_init) *init;
    __typeof__(vips_thumbnail) *thumbnail;
    __typeof__(vips_jpegsave) *jpegsave;
    __typeof__(vips_image_new_from_file) *new_from_file;
    __typeof__(vips_image_get_width) *get_width;
    __typeof__(vips_image_get_height) *get_height;
    __typeof__(vips_image_get_typeof) *get_typeof;
    __typeof__(vips_image_get_int) *get_int;
    __typeof__(vips_error_buffer) *error_buffer;
    __typeof__(vips_error_clear) *error_clear;
    __typeof__(g_object_unref) *object_unref;
} vips;

void images_init(const char *argv0, const char *library_name)
{
    program = argv0;
    library = library_name;
}

/* Resolves every function of `vips` from handle; false (with load_error set) if one is missing. */
static bool resolve(void *handle)
{
    static const struct {
        const char *name;
        size_t offset;
    } symbols[] = {
#define SYMBOL(field, name) {#name, offsetof(__typeof__(vips), field)}
        SYMBOL(version, vips_version),
        SYMBOL(init, vips_init),
        SYMBOL(thumbnail, vips_thumbnail),
        SYMBOL(jpegsave, vips_jpegsave),
        SYMBOL(new_from_file, vips_image_new_from_file),
        SYMBOL(get_width, vips_image_get_width),
        SYMBOL(get_height, vips_image_get_height),
        SYMBOL(get_typeof, vips_image_get_typeof),
        SYMBOL(get_int, vips_image_get_int),
        SYMBOL(error_buffer, vips_error_buffer),
        SYMBOL(error_clear, vips_error_clear),
        SYMBOL(object_unref, g_object_unref), /* from GObject, which libvips loads */
#undef SYMBOL
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(handle, symbols[i].name);
        if (!fn) {
            snprintf(load_error, sizeof load_error, "%s has no %s", library, symbols[i].name);
            return false;
        }
        memcpy((char *)&vips + symbols[i].offset, &fn, sizeof fn);
    }
    return true;
}

static void load(void)
{
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(load_error, sizeof load_error, "cannot load libvips: %s", dlerror());
        return;
    }
    if (!resolve(handle))
        return; /* the handle stays open: unloading GLib-based libraries is not safe */
    /* what VIPS_INIT checks, without its g_warning (a variadic GLib call we do not resolve) */
    int abi = vips.version(3) - vips.version(5);
    if (abi != VIPS_LIBRARY_CURRENT - VIPS_LIBRARY_AGE) {
        snprintf(load_error, sizeof load_error, "%s has ABI %d, the server was built for %d",
                 library, abi, VIPS_LIBRARY_CURRENT - VIPS_LIBRARY_AGE);
        return;
    }
    if (vips.init(program) != 0) {
        snprintf(load_error, sizeof load_error, "libvips failed to start: %s", vips.error_buffer());
        vips.error_clear();
        return;
    }
    loaded = true;
}

/* Loads libvips once; ERR_INTERNAL with the reason in err when it cannot be used. */
static int ready(char *err, size_t err_size)
{
    pthread_once(&load_once, load);
    if (loaded)
        return 0;
    snprintf(err, err_size, "%s", load_error);
    return ERR_INTERNAL;
}

static int save_thumbnail(const char *input, const char *path, int width, int height, char *err,
                          size_t err_size)
{
    VipsImage *out = NULL;
    /* width x height is a bounding box; never enlarged */
    if (vips.thumbnail(input, &out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL) != 0) {
        snprintf(err, err_size, "not a readable image: %s", vips.error_buffer());
        vips.error_clear();
        return ERR_INVALID;
    }
    int rc = vips.jpegsave(out, path, "Q", 85, "strip", TRUE, NULL);
    vips.object_unref(out);
    if (rc != 0) {
        snprintf(err, err_size, "cannot write %s: %s", path, vips.error_buffer());
        vips.error_clear();
        return ERR_IO;
    }
    return 0;
}

int images_process(const char *input, const char *out_dir, int *width, int *height, char *err,
                   size_t err_size)
{
    int rc = ready(err, err_size);
    if (rc < 0)
        return rc;
    VipsImage *probe = vips.new_from_file(input, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!probe) {
        snprintf(err, err_size, "not a readable image: %s", vips.error_buffer());
        vips.error_clear();
        return ERR_INVALID;
    }
    int w = vips.get_width(probe), h = vips.get_height(probe), orientation = 1;
    if (vips.get_typeof(probe, VIPS_META_ORIENTATION))
        vips.get_int(probe, VIPS_META_ORIENTATION, &orientation);
    vips.object_unref(probe);
    bool turned = orientation >= 5 && orientation <= 8; /* 90 or 270 degrees */
    *width = turned ? h : w;
    *height = turned ? w : h;
    char path[4200];
    snprintf(path, sizeof path, "%s/image.jpg", out_dir);
    rc = save_thumbnail(input, path, 2048, 2048, err, err_size);
    static const int widths[] = {160, 480, 720};
    for (size_t i = 0; rc == 0 && i < sizeof widths / sizeof widths[0]; i++) {
        snprintf(path, sizeof path, "%s/thumb_%d.jpg", out_dir, widths[i]);
        rc = save_thumbnail(input, path, widths[i], 100000, err, err_size);
    }
    return rc;
}

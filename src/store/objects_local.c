/* SPDX-License-Identifier: MIT
 *
 * The local-file-system backend of the object store: keys are files under a root directory (the
 * data dir), workdirs are the store itself, so putting what ffmpeg produced is a rename in place
 * and reads hand out the object's own file for sendfile. See objects.h.
 */
#include "store/objects_internal.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void path_of(objects *o, const char *key, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", o->root, key);
}

static void local_close(objects *o)
{
    free(o);
}

static int local_put_file(objects *o, const char *key, const char *path)
{
    char dest[4300];
    path_of(o, key, dest, sizeof dest);
    char *slash = strrchr(dest, '/');
    *slash = '\0';
    int rc = make_dirs(dest);
    *slash = '/';
    return rc < 0 || rename(path, dest) < 0 ? ERR_IO : 0;
}

/* The directory becomes prefix in one rename, so readers see all of it or none. */
static int local_put_dir(objects *o, const char *prefix, const char *dir, const char *last)
{
    (void)last;
    char dest[4300];
    path_of(o, prefix, dest, sizeof dest);
    if (objects_remove_tree(dest) < 0)
        return ERR_IO;
    char *slash = strrchr(dest, '/');
    *slash = '\0';
    int rc = make_dirs(dest);
    *slash = '/';
    return rc < 0 || rename(dir, dest) < 0 ? ERR_IO : 0;
}

static int local_fetch(objects *o, const char *key, const char *path)
{
    char src[4300], a[PATH_MAX], b[PATH_MAX];
    path_of(o, key, src, sizeof src);
    if (access(src, R_OK) != 0)
        return ERR_NOT_FOUND;
    if (realpath(src, a) && realpath(path, b) && !strcmp(a, b))
        return 0; /* the workdir is the store: the object is the file */
    return objects_copy_file(src, path);
}

static void info_of(const struct stat *st, object_info *info)
{
    info->size = (uint64_t)st->st_size;
    info->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int local_stat(objects *o, const char *key, object_info *info)
{
    char path[4300];
    struct stat st;
    path_of(o, key, path, sizeof path);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return ERR_NOT_FOUND;
    info_of(&st, info);
    return 0;
}

static int local_open_range(objects *o, const char *key, uint64_t from, uint64_t len, int *fd,
                            uint64_t *offset)
{
    (void)len;
    char path[4300];
    path_of(o, key, path, sizeof path);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return ERR_NOT_FOUND;
    }
    *offset = from;
    return 0;
}

static int local_read(objects *o, const char *key, uint64_t from, uint64_t len,
                      objects_sink_fn sink, void *arg)
{
    int fd;
    uint64_t offset;
    int rc = local_open_range(o, key, from, len, &fd, &offset);
    if (rc < 0)
        return rc;
    char chunk[65536];
    while (len > 0 && rc == 0) {
        ssize_t n = pread(fd, chunk, len < sizeof chunk ? (size_t)len : sizeof chunk,
                          (off_t)offset);
        if (n <= 0) {
            rc = ERR_IO;
            break;
        }
        rc = sink(arg, chunk, (size_t)n);
        offset += (uint64_t)n;
        len -= (uint64_t)n;
    }
    close(fd);
    return rc;
}

static int local_delete_prefix(objects *o, const char *prefix)
{
    char path[4300];
    path_of(o, prefix, path, sizeof path);
    return objects_remove_tree(path);
}

/* nftw has no user argument, so the listing state lives in thread-local variables for the
 * duration of one call. */
static _Thread_local struct {
    size_t root_len;
    void (*fn)(void *, const char *, const object_info *);
    void *arg;
    int count;
} listing;

static int list_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    object_info info;
    info_of(st, &info);
    listing.fn(listing.arg, path + listing.root_len + 1, &info);
    listing.count++;
    return 0;
}

static int local_list(objects *o, const char *prefix,
                      void (*fn)(void *arg, const char *key, const object_info *info), void *arg)
{
    char path[4300];
    path_of(o, prefix, path, sizeof path);
    listing.root_len = strlen(o->root);
    listing.fn = fn;
    listing.arg = arg;
    listing.count = 0;
    if (nftw(path, list_entry, 16, FTW_PHYS) < 0 && errno != ENOENT)
        return ERR_IO;
    return listing.count;
}

static const objects_ops local_ops = {
    .name = "local",
    .remote = false,
    .close = local_close,
    .put_file = local_put_file,
    .put_dir = local_put_dir,
    .fetch = local_fetch,
    .stat = local_stat,
    .open_range = local_open_range,
    .read = local_read,
    .delete_prefix = local_delete_prefix,
    .list = local_list,
};

int objects_local_open(const char *root, objects **out)
{
    if (make_dirs(root) < 0)
        return ERR_IO;
    *out = xcalloc(1, sizeof **out);
    (*out)->ops = &local_ops;
    snprintf((*out)->root, sizeof (*out)->root, "%s", root);
    return 0;
}

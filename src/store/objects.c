/* SPDX-License-Identifier: MIT
 *
 * The local-file-system backend of the object store: see objects.h.
 */
#include "store/objects.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct objects {
    char root[4096];
};

/* Keys are relative paths of plain segments: no empty, "." or ".." segment, no leading slash. */
static bool key_ok(const char *key)
{
    if (!key || !*key || *key == '/' || strlen(key) > 1024)
        return false;
    const char *seg = key;
    while (*seg) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n;
        if (*seg == '/')
            seg++;
        else
            break;
    }
    return key[strlen(key) - 1] != '/';
}

static int path_of(objects *o, const char *key, char *out, size_t n)
{
    if (!key_ok(key))
        return ERR_INVALID;
    snprintf(out, n, "%s/%s", o->root, key);
    return 0;
}

int objects_open_local(const char *root, objects **out)
{
    if (make_dirs(root) < 0)
        return ERR_IO;
    *out = xcalloc(1, sizeof **out);
    snprintf((*out)->root, sizeof (*out)->root, "%s", root);
    return 0;
}

void objects_close(objects *o)
{
    free(o);
}

int objects_workdir(objects *o, const char *prefix, char *out, size_t n)
{
    int rc = path_of(o, prefix, out, n);
    if (rc < 0)
        return rc;
    return make_dirs(out) < 0 ? ERR_IO : 0;
}

int objects_put_file(objects *o, const char *key, const char *path)
{
    char dest[4300];
    int rc = path_of(o, key, dest, sizeof dest);
    if (rc < 0)
        return rc;
    char *slash = strrchr(dest, '/');
    *slash = '\0';
    rc = make_dirs(dest);
    *slash = '/';
    if (rc < 0 || rename(path, dest) < 0)
        return ERR_IO;
    return 0;
}

int objects_open(objects *o, const char *key, int *fd, object_info *info)
{
    char path[4300];
    int rc = path_of(o, key, path, sizeof path);
    if (rc < 0)
        return ERR_NOT_FOUND;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return ERR_NOT_FOUND;
    }
    info->size = (uint64_t)st.st_size;
    info->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int objects_delete_prefix(objects *o, const char *prefix)
{
    char path[4300];
    int rc = path_of(o, prefix, path, sizeof path);
    if (rc < 0)
        return rc;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return ERR_IO;
    return 0;
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
    if (flag != FTW_F)
        return 0;
    object_info info = {(uint64_t)st->st_size,
                        (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec};
    listing.fn(listing.arg, path + listing.root_len + 1, &info);
    listing.count++;
    return 0;
}

int objects_list(objects *o, const char *prefix, void (*fn)(void *arg, const char *key,
                                                             const object_info *info),
                 void *arg)
{
    char path[4300];
    int rc = path_of(o, prefix, path, sizeof path);
    if (rc < 0)
        return rc;
    listing.root_len = strlen(o->root);
    listing.fn = fn;
    listing.arg = arg;
    listing.count = 0;
    if (nftw(path, list_entry, 16, FTW_PHYS) < 0 && errno != ENOENT)
        return ERR_IO;
    return listing.count;
}

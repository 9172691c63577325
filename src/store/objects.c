/* SPDX-License-Identifier: MIT
 *
 * The front of the object store (see objects.h): picks the backend a --object-store value names,
 * checks every key before a backend sees it, and owns what every backend shares: workdirs, the
 * scratch space of remote stores, and file helpers.
 */
#include "store/objects_internal.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const objects_op_names[6] = {"put", "get", "head", "list", "delete", "multipart"};

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

int objects_open_local(const char *root, objects **out)
{
    return objects_local_open(root, out);
}

int objects_open(const char *spec, const char *data_dir, objects **out, char *err,
                 size_t err_size)
{
    if (!spec || !*spec) {
        int rc = objects_open_local(data_dir, out);
        if (rc < 0)
            snprintf(err, err_size, "cannot create %s", data_dir);
        return rc;
    }
    if (!strncmp(spec, "s3://", 5)) {
        char scratch[4096];
        snprintf(scratch, sizeof scratch, "%s/tmp-objects", data_dir);
        return objects_s3_open(spec, scratch, out, err, err_size);
    }
    snprintf(err, err_size, "--object-store must be empty (local files) or s3://bucket?...");
    return ERR_INVALID;
}

void objects_close(objects *o)
{
    if (o)
        o->ops->close(o);
}

const char *objects_backend_name(objects *o)
{
    return o->ops->name;
}

bool objects_remote(objects *o)
{
    return o->ops->remote;
}

int objects_workdir(objects *o, const char *prefix, char *out, size_t n)
{
    if (!key_ok(prefix))
        return ERR_INVALID;
    if ((size_t)snprintf(out, n, "%s/%s", o->root, prefix) >= n)
        return ERR_INVALID;
    return make_dirs(out) < 0 ? ERR_IO : 0;
}

void objects_release_workdir(objects *o, const char *prefix)
{
    char path[4300];
    if (!o->ops->remote || !key_ok(prefix))
        return;
    snprintf(path, sizeof path, "%s/%s", o->root, prefix);
    objects_remove_tree(path);
}

int objects_put_file(objects *o, const char *key, const char *path)
{
    if (!key_ok(key))
        return ERR_INVALID;
    return o->ops->put_file(o, key, path);
}

int objects_put_dir(objects *o, const char *prefix, const char *dir, const char *last)
{
    if (!key_ok(prefix))
        return ERR_INVALID;
    return o->ops->put_dir(o, prefix, dir, last);
}

int objects_fetch(objects *o, const char *key, const char *path)
{
    if (!key_ok(key))
        return ERR_NOT_FOUND;
    return o->ops->fetch(o, key, path);
}

int objects_stat(objects *o, const char *key, object_info *info)
{
    if (!key_ok(key))
        return ERR_NOT_FOUND;
    return o->ops->stat(o, key, info);
}

int objects_open_file(objects *o, const char *key, int *fd, object_info *info)
{
    uint64_t offset;
    int rc = objects_stat(o, key, info);
    if (rc < 0)
        return rc;
    rc = o->ops->open_range(o, key, 0, info->size, fd, &offset);
    /* a remote store's temporary file was just written: its position is at the end */
    if (rc == 0 && lseek(*fd, (off_t)offset, SEEK_SET) < 0) {
        close(*fd);
        return ERR_IO;
    }
    return rc;
}

int objects_open_range(objects *o, const char *key, uint64_t from, uint64_t len, int *fd,
                       uint64_t *offset)
{
    if (!key_ok(key))
        return ERR_NOT_FOUND;
    return o->ops->open_range(o, key, from, len, fd, offset);
}

int objects_read(objects *o, const char *key, uint64_t from, uint64_t len, objects_sink_fn sink,
                 void *arg)
{
    if (!key_ok(key))
        return ERR_NOT_FOUND;
    return o->ops->read(o, key, from, len, sink, arg);
}

int objects_delete_prefix(objects *o, const char *prefix)
{
    if (!key_ok(prefix))
        return ERR_INVALID;
    if (o->ops->remote)
        objects_release_workdir(o, prefix); /* what an interrupted job left */
    return o->ops->delete_prefix(o, prefix);
}

int objects_list(objects *o, const char *prefix,
                 void (*fn)(void *arg, const char *key, const object_info *info), void *arg)
{
    if (!key_ok(prefix))
        return ERR_INVALID;
    return o->ops->list(o, prefix, fn, arg);
}

void objects_get_stats(objects *o, objects_stats *out)
{
    memset(out, 0, sizeof *out);
    if (o && o->ops->stats)
        o->ops->stats(o, out);
}

int objects_copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ERR_IO;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (out < 0) {
        close(in);
        return ERR_IO;
    }
    char chunk[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, chunk, sizeof chunk)) > 0)
        if (write(out, chunk, (size_t)n) != n) {
            rc = ERR_IO;
            break;
        }
    if (n < 0 || fsync(out) < 0)
        rc = ERR_IO;
    close(in);
    close(out);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int objects_remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return ERR_IO;
    return 0;
}

/* SPDX-License-Identifier: MIT
 *
 * The backend table behind objects.h. Each backend embeds `struct objects` first in its own
 * struct. objects.c checks keys and prefixes before any operation reaches a backend.
 */
#ifndef STREAMHUB_STORE_OBJECTS_INTERNAL_H
#define STREAMHUB_STORE_OBJECTS_INTERNAL_H

#include "store/objects.h"

typedef struct objects_ops {
    const char *name;
    bool remote;
    void (*close)(objects *o);
    int (*put_file)(objects *o, const char *key, const char *path);
    int (*put_dir)(objects *o, const char *prefix, const char *dir, const char *last);
    int (*fetch)(objects *o, const char *key, const char *path);
    int (*stat)(objects *o, const char *key, object_info *info);
    int (*open_range)(objects *o, const char *key, uint64_t from, uint64_t len, int *fd,
                      uint64_t *offset);
    int (*read)(objects *o, const char *key, uint64_t from, uint64_t len, objects_sink_fn sink,
                void *arg);
    int (*delete_prefix)(objects *o, const char *prefix);
    int (*list)(objects *o, const char *prefix,
                void (*fn)(void *arg, const char *key, const object_info *info), void *arg);
    void (*stats)(objects *o, objects_stats *out);
} objects_ops;

struct objects {
    const objects_ops *ops;
    /* the local backend: the store's root; a remote one: its scratch space for workdirs */
    char root[4096];
};

int objects_local_open(const char *root, objects **out);
int objects_s3_open(const char *spec, const char *scratch, objects **out, char *err,
                    size_t err_size);
/* Removes a directory tree (or a file); a missing one is not an error. */
int objects_remove_tree(const char *path);

#endif

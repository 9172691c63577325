/* SPDX-License-Identifier: MIT
 *
 * Object storage for media files, behind one small interface so an S3-compatible backend can
 * replace the local one: keys are paths like "media/<id>/hls/240p/seg000.ts". The local backend
 * maps keys to files under a root directory; keys are checked, so none can step outside it.
 *
 * ffmpeg works on local files, so processing writes into objects_workdir(); on the local backend
 * that directory is the store itself, and a remote backend would objects_put_file() what the work
 * produced. Reads hand back a file descriptor for sendfile (a remote backend would answer with a
 * local cache or a redirect to a signed URL of its own).
 */
#ifndef STREAMHUB_STORE_OBJECTS_H
#define STREAMHUB_STORE_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct objects objects;

typedef struct object_info {
    uint64_t size;
    int64_t mtime_ns;
} object_info;

/* The local backend rooted at root (created if missing). */
int objects_open_local(const char *root, objects **out);
void objects_close(objects *o);
/* A local directory for the objects under prefix, created if missing. */
int objects_workdir(objects *o, const char *prefix, char *out, size_t n);
/* Moves the local file at path into the store as key (replacing an existing object). */
int objects_put_file(objects *o, const char *key, const char *path);
/* Opens key for reading: *fd (the caller closes it) and its info; ERR_NOT_FOUND if absent. */
int objects_open(objects *o, const char *key, int *fd, object_info *info);
/* Deletes every object under prefix; a missing prefix is not an error. */
int objects_delete_prefix(objects *o, const char *prefix);
/* Calls fn for each object under prefix (keys relative to the store); returns how many. */
int objects_list(objects *o, const char *prefix, void (*fn)(void *arg, const char *key,
                                                             const object_info *info),
                 void *arg);

#endif

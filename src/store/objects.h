/* SPDX-License-Identifier: MIT
 *
 * Object storage for media files, behind one interface with two backends (a table of operations,
 * as db.h fronts SQLite and PostgreSQL): local files under the data dir (the default), or an
 * S3-compatible store (objects_s3.c) so media lives off the node and workers need no shared disk.
 * Keys are paths like "media/<id>/hls/240p/seg000.ts"; they are checked here, so none can step
 * outside the store.
 *
 * ffmpeg works on local files, so processing writes into objects_workdir(). On the local backend
 * that directory is the store itself (putting a file there is a rename in place); on a remote one
 * it is a scratch directory under the data dir that objects_put_file()/objects_put_dir() publish
 * from ("put after produce") and objects_release_workdir() removes. Reads either hand back a file
 * descriptor (the object's own file locally; for a remote store an unnamed temporary file holding
 * the requested range: for small objects and for ffmpeg), or stream a range into a callback as it
 * arrives (objects_read: how the API proxies segments from a remote store).
 *
 * Remote failures come back as ERR_BUSY (unreachable, timed out, 5xx after retries, or the
 * circuit breaker open: the caller answers 503), ERR_NOT_FOUND, or ERR_IO.
 */
#ifndef STREAMHUB_STORE_OBJECTS_H
#define STREAMHUB_STORE_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct objects objects;

typedef struct object_info {
    uint64_t size;
    int64_t mtime_ns;
} object_info;

/* Opens the store that spec names: "" = local files under data_dir (keys are paths below it);
 * "s3://bucket?endpoint=http://host:port&region=us-east-1&..." = an S3-compatible store (see
 * objects_s3_parse), with credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
 * AWS_SESSION_TOKEN) in the environment and its scratch space under data_dir/tmp-objects. */
int objects_open(const char *spec, const char *data_dir, objects **out, char *err,
                 size_t err_size);
/* The local backend rooted at root (created if missing). */
int objects_open_local(const char *root, objects **out);
void objects_close(objects *o);
/* "local" or "s3". */
const char *objects_backend_name(objects *o);
/* Whether objects_workdir() is scratch space (a remote store) rather than the store itself. */
bool objects_remote(objects *o);

/* A local directory for the objects under prefix, created if missing. */
int objects_workdir(objects *o, const char *prefix, char *out, size_t n);
/* Remote stores: removes the scratch directory of prefix (the local store keeps its files). */
void objects_release_workdir(objects *o, const char *prefix);
/* Moves the local file at path into the store as key (replacing an existing object): on success
 * the local file is gone, on failure it is left where it was. */
int objects_put_file(objects *o, const char *key, const char *path);
/* Moves the regular files of the local directory dir into the store as prefix/<name>, replacing
 * what was under prefix; `last` (a file name in dir, may be NULL) goes after all others, so its
 * presence in the store means the rest are there. dir is gone afterwards on success. */
int objects_put_dir(objects *o, const char *prefix, const char *dir, const char *last);
/* Makes sure the local file path holds key's bytes (the local store: nothing to do when path is
 * the object's own file). */
int objects_fetch(objects *o, const char *key, const char *path);
/* The object's size and modification time; ERR_NOT_FOUND if absent. */
int objects_stat(objects *o, const char *key, object_info *info);
/* Opens key for reading: *fd (the caller closes it) and its info; ERR_NOT_FOUND if absent. */
int objects_open_file(objects *o, const char *key, int *fd, object_info *info);
/* Opens len bytes of key from byte from: *fd holds them from *offset on (the caller closes it). */
int objects_open_range(objects *o, const char *key, uint64_t from, uint64_t len, int *fd,
                       uint64_t *offset);
/* Streams len bytes of key from byte from into sink, in pieces as they arrive (a remote store:
 * libcurl's buffer at a time; a transfer cut short is resumed from where it stopped while
 * retries last). sink returns 0 to go on, anything else to stop (that value is returned).
 * ERR_NOT_FOUND, ERR_BUSY or ERR_IO otherwise; a failure may come after some bytes went out. */
typedef int (*objects_sink_fn)(void *arg, const void *data, size_t len);
int objects_read(objects *o, const char *key, uint64_t from, uint64_t len, objects_sink_fn sink,
                 void *arg);
/* Deletes every object under prefix ("media/7" takes "media/7/..." and not "media/70/...");
 * a missing prefix is not an error. */
int objects_delete_prefix(objects *o, const char *prefix);
/* Calls fn for each object under prefix (full keys); returns how many. */
int objects_list(objects *o, const char *prefix,
                 void (*fn)(void *arg, const char *key, const object_info *info), void *arg);

/* Copies the local file at from to to (replacing it), fsynced: a helper for callers that must
 * keep their file (objects_put_file moves it). */
int objects_copy_file(const char *from, const char *to);

/* Counters of a remote backend for /metrics (zeros for the local one). */
typedef struct objects_stats {
    uint64_t requests[6][2]; /* by objects_op, by ok (1) / failed (0) */
    uint64_t retries, bytes_up, bytes_down, multipart_uploads, multipart_aborts;
    uint64_t breaker_opened, breaker_rejected;
    int breaker_state; /* 0 closed, 1 open, 2 half-open */
} objects_stats;
enum objects_op { OBJECTS_PUT, OBJECTS_GET, OBJECTS_HEAD, OBJECTS_LIST, OBJECTS_DELETE,
                  OBJECTS_MULTIPART };
extern const char *const objects_op_names[6];
void objects_get_stats(objects *o, objects_stats *out);

/* ---- the S3 backend's configuration (exposed for its unit tests) ---------------------------- */
typedef struct objects_s3_config {
    char bucket[64];
    char region[64];
    char endpoint[512]; /* scheme://host[:port], no trailing slash; "" = AWS itself */
    bool path_style;    /* endpoint/bucket/key (set when an endpoint is given) */
    int64_t timeout_ms, connect_timeout_ms;
    int retries;
    int breaker_failures;
    int64_t breaker_cooldown_ms;
    uint64_t multipart_threshold, part_size;
    int list_max_keys; /* keys per ListObjectsV2 page */
} objects_s3_config;
/* Parses "s3://bucket?endpoint=...&region=...&timeout_ms=...&connect_timeout_ms=...&retries=...
 * &breaker_failures=...&breaker_cooldown_ms=...&multipart_threshold=...&part_size=...&
 * list_max_keys=...&path_style=0|1"; unknown parameters and out-of-range values are errors (err says which). */
int objects_s3_parse(const char *spec, objects_s3_config *out, char *err, size_t err_size);

#endif

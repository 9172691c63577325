/* SPDX-License-Identifier: MIT
 *
 * Media rules. A file becomes a media record when it is complete (a finished upload, or an
 * operator's import): its type is sniffed from its bytes with libmagic (the client's claim is
 * ignored), empty and unsupported files are refused, and a "media.process" job is queued in the
 * same transaction. The job probes the file (ffprobe), refuses what cannot be played (no video
 * stream, zero or over-long duration), and for videos builds the HLS ladder, poster, thumbnails
 * and storyboard (jobs/ffmpeg.c), reporting percent as it goes: uploaded -> processing -> ready |
 * failed (with the reason). A duet or stitch of a video is rendered into a media record of its
 * own, which goes composing (rendered with its source, see ffmpeg_compose) -> processing ->
 * ready; no state ever goes backwards. Only the owner sees a media record until it is attached
 * to a post.
 */
#ifndef STREAMHUB_DOMAIN_MEDIA_H
#define STREAMHUB_DOMAIN_MEDIA_H

#include "domain/errors.h"
#include "jobs/queue.h"
#include "store/media.h"
#include "store/objects.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>

#define MEDIA_PROCESS_JOB "media.process"
#define MEDIA_COMPOSE_JOB "media.compose"

/* The object store for media files (objects "media/<id>/..."): object_store "" = local files
 * under data_dir, "s3://bucket?..." = an S3-compatible store (store/objects.h); and the longest
 * video accepted. Once at start-up; err says what is wrong with object_store. */
int media_configure(const char *data_dir, const char *object_store, int64_t max_duration_s,
                    char *err, size_t err_size);
/* --media-base-url: when set (http(s)://host/path, no query), the media URLs the API hands out
 * are base + "/media/<id>/<file>", unsigned, for a CDN in front of a public-read bucket; the
 * playlists in the store reference their segments relatively, so they play from there as they
 * are. "" = the API's own signed URLs (the default). ERR_INVALID for a malformed base. */
int media_set_base_url(const char *base);
/* The object store's backend name ("local", "s3") and counters, for /metrics. */
const char *media_store_backend(void);
void media_store_stats(objects_stats *out);
/* Takes the file at src_path (moved when move, else copied) as the owner's new media. */
int media_ingest(db *d, const store_user *owner, const char *src_path, const char *filename,
                 bool move, store_media *out, domain_error *err);
/* The same for a body the HTTP layer spooled (POST /api/v1/media): size bytes of fd are copied
 * in. Only images come this way (videos use resumable uploads): others are 422
 * use_resumable_upload. */
int media_ingest_image_fd(db *d, const store_user *owner, int fd, uint64_t size,
                          const char *filename, store_media *out, domain_error *err);
/* The owner's media, every state (drafts, uploads being processed, failed), newest first: up to
 * max with ids below before_id (0: from the newest); see store_media_list. */
int media_list_own(db *d, int64_t owner, int64_t before_id, int max, store_media *out, bool *posted,
                   domain_error *err);
/* The viewer's own media (404 for anyone else's). */
int media_get_own(db *d, int64_t viewer, int64_t id, store_media *out, domain_error *err);
/* Signed media URLs. A player fetching HLS cannot send an Authorization header, so the API
 * hands out URLs that carry their own permission: an expiry (Unix seconds) and an HMAC-SHA256
 * over the path and expiry with a key derived from the server secret (set at start-up, the same
 * on every node). Tampered or expired URLs are refused. */
#define MEDIA_URL_TTL_S (6 * 3600)
void media_set_url_key(const unsigned char key[32]);
/* "/api/v1/media/<id>/<rel>?exp=<exp>&sig=<hex>", or base/media/<id>/<rel> with
 * --media-base-url */
void media_signed_url(int64_t id, const char *rel, int64_t exp, char *out, size_t n);
/* Whether sig is the signature of path with exp, and exp is not past at now_s. */
bool media_url_valid(const char *path, const char *exp, const char *sig, int64_t now_s);
/* The media a signed link to its file rel names: ERR_FORBIDDEN "owner_only" for the original
 * (it may carry metadata, a photo's GPS position: its owner's alone, never by link), then
 * ERR_FORBIDDEN "bad_signature" when the link (path, exp, sig) is invalid or has expired, else
 * the record (ERR_NOT_FOUND when gone). Free with media_free. */
int media_get_signed(db *d, int64_t id, const char *rel, const char *path, const char *exp,
                     const char *sig, store_media *out, domain_error *err);
/* Frees what media functions filled into a record. */
void media_free(store_media *m);
/* Opens the media's object rel ("hls/240p/seg000.ts", "poster.jpg", "original") for reading.
 * Like every media file call: ERR_NOT_FOUND, or ERR_BUSY when the object store is unavailable
 * (answer 503). */
int media_open_file(int64_t id, const char *rel, int *fd, object_info *info);
/* Streams len bytes of rel from byte from into sink as they come from the store (see
 * objects_read). */
int media_read_range(int64_t id, const char *rel, uint64_t from, uint64_t len,
                     objects_sink_fn sink, void *arg);
/* Whether media files live in a remote store (reads then stream from it rather than from a
 * local file). */
bool media_store_remote(void);
/* The size and modification time of the media's object rel. */
int media_stat_file(int64_t id, const char *rel, object_info *info);
/* len bytes of rel from byte from: in *fd from *offset on (see objects_open_range). */
int media_open_range(int64_t id, const char *rel, uint64_t from, uint64_t len, int *fd,
                     uint64_t *offset);

/* Deletes the owner's media: cancels its processing (a running transcode stops at its next
 * progress report) and removes its files. 409 media_in_use while a live post shows it; deleting
 * the post first (posts_delete) takes the media with it. */
int media_delete(db *d, int64_t owner, int64_t id, domain_error *err);

/* Removes a media record's files (after its row is gone). */
void media_remove_files(int64_t id);

/* Queues the rendering of a duet or stitch (caller's transaction) into a new media record of the
 * clip's owner (*media_id: the clip in, the rendering out), which goes composing -> processing
 * -> ready; the clip itself stays as it was (its state never goes backwards) and remains the
 * owner's. The post is pointed at the rendering and waits for it. */
int media_queue_compose(db *d, int64_t *media_id, int64_t source_media_id, bool stitch);
/* A post made with media that is ready already: copies the media's shape (duration, upright
 * width and height) onto the post and marks it ready. */
int media_posts_ready(db *d, store_post *post);
/* The job handler of MEDIA_COMPOSE_JOB. */
job_result media_compose_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size);

/* When a media record reaches ready or failed (on the job's thread, after the state is
 * committed) the job emits EV_MEDIA_SETTLED (domain/events.h): chat announces DM attachments as
 * its consumer (wired in app.c, so media knows no chat). */

/* A media record's state or progress changed (committed). The owner is told live; how (the
 * "media.progress" socket event) is the API's business, so media hands over plain values. */
typedef struct media_progress {
    int64_t owner;
    int64_t media_id;
    char state[16]; /* "processing", "ready", "failed"... */
    int64_t progress; /* percent */
    bool playable;    /* a first rendition is served (while still "processing"), or "ready" */
} media_progress;
/* Runs on the thread that committed the change (often a job's); p is borrowed for the call. */
typedef void (*media_progress_fn)(const media_progress *p);
/* Installs who hears of every change (NULL: nobody); once at start-up, before jobs run. */
void media_set_progress_listener(media_progress_fn fn);

/* Whether a media record can be played: ready, or still processing with a first rendition
 * complete (the ladder grows behind it; docs/media.md "Time to playable"). */
bool media_playable(const store_media *m);

/* The job handler of MEDIA_PROCESS_JOB. */
job_result media_process_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size);

#endif

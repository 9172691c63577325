/* SPDX-License-Identifier: MIT
 *
 * Media ingestion and processing: see media.h. Processing writes into DATA_DIR/media/<id>/
 * (original, hls/, images); a retried job starts over in the same place, so a worker killed
 * mid-transcode leaves nothing a second attempt trips over.
 *
 * Every state or progress change is also handed to the progress listener (after commit when it
 * happens inside a transaction): the API publishes it to the owner as "media.progress". A job run
 * by a separate `streamhub worker` process publishes on that process's in-process bus, where no
 * socket listens: those reach clients once the Redis bus carries topics between processes.
 */
#include "domain/media.h"

#include "core/id.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/events.h"
#include "jobs/ffmpeg.h"
#include "jobs/images.h"
#include "store/posts.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <magic.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static media_progress_fn progress_listener;

void media_set_progress_listener(media_progress_fn fn)
{
    progress_listener = fn;
}

static void publish_progress(void *arg, bool committed)
{
    media_progress *p = arg;
    if (committed && progress_listener)
        progress_listener(p);
    free(p);
}

/* store_media_set_state, and the change (with whether the video can be played yet) told to the
 * progress listener once it commits. */
static int note_state(db *d, int64_t id, const char *state, int64_t progress, const char *error,
                      const char *probe, const char *renditions, bool playable, int64_t now)
{
    int rc = store_media_set_state(d, id, state, progress, error, probe, renditions, now);
    int64_t owner = rc == 0 ? store_media_owner(d, id) : 0;
    if (owner > 0) {
        media_progress *p = xcalloc(1, sizeof *p);
        *p = (media_progress){
            .owner = owner, .media_id = id, .progress = progress, .playable = playable};
        snprintf(p->state, sizeof p->state, "%s", state);
        db_on_commit(d, publish_progress, p);
    }
    return rc;
}

static int set_state(db *d, int64_t id, const char *state, int64_t progress, const char *error,
                     const char *probe, const char *renditions, int64_t now)
{
    return note_state(d, id, state, progress, error, probe, renditions, !strcmp(state, "ready"),
                      now);
}

bool media_playable(const store_media *m)
{
    /* renditions are recorded as each is complete: one is enough to play */
    return !strcmp(m->state, "ready") ||
           (!strcmp(m->state, "processing") && m->renditions && strchr(m->renditions, '{'));
}

/* Processing ended (ready or failed) and the state is committed: EV_MEDIA_SETTLED, whose
 * consumers (chat announces DM attachments) run at once, media knowing none of them. */
static void settled(db *d, int64_t id)
{
    domain_event ev = {.type = EV_MEDIA_SETTLED, .media_id = id};
    events_emit(d, &ev); /* no in-transaction consumer: nothing can fail */
}

/* Media files are objects under "media/<id>/" in the object store (store/objects.h). */
static objects *objs;
static int64_t max_duration_s = 600;
static char media_base_url[512]; /* --media-base-url: "" = the API's own signed URLs */

int media_configure(const char *data_dir, const char *object_store, int64_t max_duration,
                    char *err, size_t err_size)
{
    max_duration_s = max_duration;
    if (objs)
        return 0;
    return objects_open(object_store, data_dir, &objs, err, err_size);
}

int media_set_base_url(const char *base)
{
    size_t n = base ? strlen(base) : 0;
    while (n && base[n - 1] == '/')
        n--;
    if (n && strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0)
        return ERR_INVALID;
    if (n >= sizeof media_base_url || (n && strpbrk(base, "?#\" \t\r\n")))
        return ERR_INVALID;
    snprintf(media_base_url, sizeof media_base_url, "%.*s", (int)n, n ? base : "");
    return 0;
}

const char *media_store_backend(void)
{
    return objs ? objects_backend_name(objs) : "none";
}

void media_store_stats(objects_stats *out)
{
    objects_get_stats(objs, out);
}

static void media_key(int64_t id, const char *rel, char *out, size_t n)
{
    snprintf(out, n, "media/%lld/%s", (long long)id, rel);
}

/* Whether the store holds the media's object rel (a step done by an earlier attempt). */
static bool media_has(int64_t id, const char *rel)
{
    char key[256];
    object_info info;
    media_key(id, rel, key, sizeof key);
    return objects_stat(objs, key, &info) == 0;
}

/* Puts the named files a step produced in the media's workdir, in order (the last one marks the
 * step done: media_has). A file the step did not write is skipped. */
static int publish_files(int64_t id, const char *dir, const char *const *names)
{
    char key[256], path[4400];
    for (; *names; names++) {
        snprintf(path, sizeof path, "%s/%s", dir, *names);
        if (access(path, F_OK) != 0)
            continue;
        media_key(id, *names, key, sizeof key);
        int rc = objects_put_file(objs, key, path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void release_workdir(int64_t id)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "media/%lld", (long long)id);
    objects_release_workdir(objs, prefix);
}

/* The local working directory of a media record's objects (created if missing). */
static int media_dir(int64_t id, char *out, size_t n)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "media/%lld", (long long)id);
    return objects_workdir(objs, prefix, out, n);
}

int media_open_file(int64_t id, const char *rel, int *fd, object_info *info)
{
    char key[256];
    media_key(id, rel, key, sizeof key);
    return objects_open_file(objs, key, fd, info);
}

int media_read_range(int64_t id, const char *rel, uint64_t from, uint64_t len,
                     objects_sink_fn sink, void *arg)
{
    char key[256];
    media_key(id, rel, key, sizeof key);
    return objects_read(objs, key, from, len, sink, arg);
}

bool media_store_remote(void)
{
    return objs && objects_remote(objs);
}

int media_stat_file(int64_t id, const char *rel, object_info *info)
{
    char key[256];
    media_key(id, rel, key, sizeof key);
    return objects_stat(objs, key, info);
}

int media_open_range(int64_t id, const char *rel, uint64_t from, uint64_t len, int *fd,
                     uint64_t *offset)
{
    char key[256];
    media_key(id, rel, key, sizeof key);
    return objects_open_range(objs, key, from, len, fd, offset);
}

static unsigned char url_key[crypto_auth_hmacsha256_KEYBYTES];

void media_set_url_key(const unsigned char key[32])
{
    memcpy(url_key, key, sizeof url_key);
}

/* 128 bits of HMAC-SHA256 over "path?exp=N", hex. */
static void sign(const char *path, const char *exp, char hex[33])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, url_key, sizeof url_key);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)path, strlen(path));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"?exp=", 5);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)exp, strlen(exp));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, 33, mac, 16);
}

void media_signed_url(int64_t id, const char *rel, int64_t exp, char *out, size_t n)
{
    char path[512], exp_text[24], hex[33];
    if (media_base_url[0]) {
        /* the CDN serves the bucket's objects as they are: no signature of ours */
        snprintf(out, n, "%s/media/%lld/%s", media_base_url, (long long)id, rel);
        return;
    }
    snprintf(path, sizeof path, "/api/v1/media/%lld/%s", (long long)id, rel);
    snprintf(exp_text, sizeof exp_text, "%lld", (long long)exp);
    sign(path, exp_text, hex);
    snprintf(out, n, "%s?exp=%s&sig=%s", path, exp_text, hex);
}

bool media_url_valid(const char *path, const char *exp, const char *sig, int64_t now_s)
{
    if (!path || !exp || !sig || strlen(sig) != 32 || strlen(exp) > 20)
        return false;
    char *end;
    long long e = strtoll(exp, &end, 10);
    if (*end || e < now_s)
        return false;
    char hex[33];
    sign(path, exp, hex);
    return sodium_memcmp(hex, sig, 32) == 0;
}

/* The MIME type from the file's bytes. libmagic handles are not thread-safe, so each call has
 * its own (loading the database costs about a millisecond). */
static void sniff(const char *path, char *mime, size_t n)
{
    snprintf(mime, n, "application/octet-stream");
    magic_t m = magic_open(MAGIC_MIME_TYPE);
    if (!m)
        return;
    if (magic_load(m, NULL) == 0) {
        const char *t = magic_file(m, path);
        if (t)
            snprintf(mime, n, "%s", t);
    }
    magic_close(m);
}

static const char *kind_of(const char *mime)
{
    if (!strncmp(mime, "video/", 6))
        return "video";
    if (!strncmp(mime, "image/", 6))
        return "image";
    if (!strncmp(mime, "audio/", 6))
        return "audio";
    return "other";
}

/* Deletes a media record's objects (its files). */
static void remove_media_objects(int64_t id)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "media/%lld", (long long)id);
    if (objects_delete_prefix(objs, prefix) < 0)
        log_warn("cannot remove media files", "\"media_id\":%lld", (long long)id);
}

int media_ingest(db *d, const store_user *owner, const char *src_path, const char *filename,
                 bool move, store_media *out, domain_error *err)
{
    struct stat st;
    if (stat(src_path, &st) < 0 || !S_ISREG(st.st_mode))
        return domain_fail(err, ERR_NOT_FOUND, "file_not_found", "no such file");
    if (st.st_size == 0)
        return domain_invalid(err, "file", "empty");
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->owner_id = owner->id;
    out->size = st.st_size;
    snprintf(out->filename, sizeof out->filename, "%s", filename ? filename : "");
    /* sniffed before it is stored: a refused file never reaches the store */
    sniff(src_path, out->mime, sizeof out->mime);
    snprintf(out->kind, sizeof out->kind, "%s", kind_of(out->mime));
    if (strcmp(out->kind, "video") != 0 && strcmp(out->kind, "image") != 0) {
        if (move)
            unlink(src_path);
        return domain_invalid(err, "file", "unsupported_type");
    }
    char dir[4200], original[4300], key[64];
    if (media_dir(out->id, dir, sizeof dir) < 0)
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the file");
    snprintf(original, sizeof original, "%s/original", dir);
    media_key(out->id, "original", key, sizeof key);
    int stored = move ? 0 : objects_copy_file(src_path, original);
    if (stored == 0)
        stored = objects_put_file(objs, key, move ? src_path : original);
    release_workdir(out->id);
    if (stored < 0) {
        if (!move)
            unlink(original);
        remove_media_objects(out->id);
        if (stored == ERR_BUSY)
            return domain_fail(err, ERR_BUSY, "storage_unavailable",
                               "the object store cannot be reached; try again");
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the file");
    }
    snprintf(out->state, sizeof out->state, "uploaded");
    out->created_at = out->updated_at = now_ms();
    char payload[64];
    snprintf(payload, sizeof payload, "{\"media_id\":%lld}", (long long)out->id);
    if (db_begin(d) < 0) {
        remove_media_objects(out->id);
        return domain_db_failed(err, d, "begin");
    }
    /* an image takes a second: it goes before queued videos, whose ladders take minutes */
    job_options opts = {.max_attempts = 3, .priority = !strcmp(out->kind, "image") ? 1 : 0};
    if (store_media_insert(d, out) < 0 ||
        job_enqueue(d, MEDIA_PROCESS_JOB, payload, &opts, NULL) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        remove_media_objects(out->id);
        return domain_db_failed(err, d, "media");
    }
    return 0;
}

int media_ingest_image_fd(db *d, const store_user *owner, int fd, uint64_t size,
                          const char *filename, store_media *out, domain_error *err)
{
    if (fd < 0 || size == 0)
        return domain_invalid(err, "file", "empty");
    /* land the body under a name in a working directory, then ingest it like any finished
     * file */
    char tmp[4300], incoming[4200];
    if (objects_workdir(objs, "media/incoming", incoming, sizeof incoming) < 0)
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the file");
    snprintf(tmp, sizeof tmp, "%s/%lld", incoming, (long long)id_next());
    int out_fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out_fd < 0)
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the file");
    loff_t in = 0;
    uint64_t left = size;
    while (left > 0) {
        ssize_t n = copy_file_range(fd, &in, out_fd, NULL, left, 0);
        if (n <= 0)
            break;
        left -= (uint64_t)n;
    }
    close(out_fd);
    if (left > 0) {
        unlink(tmp);
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the file");
    }
    char mime[96];
    sniff(tmp, mime, sizeof mime);
    if (strcmp(kind_of(mime), "image") != 0) {
        unlink(tmp);
        return domain_invalid(err, "file", strcmp(kind_of(mime), "video") == 0
                                               ? "use_resumable_upload"
                                               : "unsupported_type");
    }
    int rc = media_ingest(d, owner, tmp, filename, true, out, err);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int media_list_own(db *d, int64_t owner, int64_t before_id, int max, store_media *out, bool *posted,
                   domain_error *err)
{
    int n = store_media_list(d, owner, before_id, max, out, posted);
    return n < 0 ? domain_db_failed(err, d, "media") : n;
}

int media_get_own(db *d, int64_t viewer, int64_t id, store_media *out, domain_error *err)
{
    int rc = store_media_get(d, id, out);
    if (rc == 0 && out->owner_id != viewer) {
        store_media_free(out);
        rc = ERR_NOT_FOUND;
    }
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, rc, "media_not_found", "no such media");
    return rc < 0 ? domain_db_failed(err, d, "media") : 0;
}

static char *probe_json(const media_probe *p)
{
    json_t *o = json_pack("{s:s, s:f, s:I, s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:f}", "format",
                          p->format, "duration_s", p->duration_s, "bit_rate",
                          (json_int_t)p->bit_rate, "has_video", p->has_video, "has_audio",
                          p->has_audio, "width", p->width, "height", p->height, "rotation",
                          p->rotation, "display_width", p->display_width, "display_height",
                          p->display_height, "fps", p->fps);
    json_object_set_new(o, "video_codec", json_string(p->video_codec));
    json_object_set_new(o, "audio_codec", json_string(p->audio_codec));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Marks the posts showing the media ready, with its shape (upright size, duration). */
static int posts_ready(db *d, int64_t id, const media_probe *p)
{
    return store_posts_media_ready(d, id, (int64_t)llround(p->duration_s * 1000), p->display_width,
                                   p->display_height);
}

int media_posts_ready(db *d, store_post *post)
{
    store_media m;
    int rc = store_media_get(d, post->media_id, &m);
    if (rc < 0)
        return rc;
    json_t *probe = m.probe ? json_loads(m.probe, 0, NULL) : NULL;
    bool video = !strcmp(m.kind, "video"); /* ffprobe gives a still image a frame's duration */
    store_media_free(&m);
    post->media_duration_ms =
        video ? (int64_t)llround(json_number_value(json_object_get(probe, "duration_s")) * 1000)
              : 0;
    post->media_width = json_integer_value(json_object_get(probe, "display_width"));
    post->media_height = json_integer_value(json_object_get(probe, "display_height"));
    json_decref(probe);
    return store_posts_media_ready(d, post->media_id, post->media_duration_ms, post->media_width,
                                   post->media_height);
}

typedef struct progress_arg {
    job_ctx *ctx;
    db *d;
    int64_t media_id;
    bool playable;
    int base, span; /* this step's share of the whole job, in percent */
} progress_arg;

static bool on_progress(void *arg, int pct)
{
    progress_arg *pa = arg;
    int overall = pa->base + pct * pa->span / 100;
    overall = overall > 99 ? 99 : overall;
    note_state(pa->d, pa->media_id, "processing", overall, NULL, NULL, NULL, pa->playable,
               now_ms());
    return job_progress(pa->ctx, overall);
}

/* Records a refusal the file itself caused (no retry can help). */
static job_result refuse(db *d, int64_t id, const char *reason, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s", reason);
    if (set_state(d, id, "failed", 0, reason, NULL, NULL, now_ms()) == 0)
        settled(d, id);
    return JOB_FAIL;
}

void media_remove_files(int64_t id)
{
    remove_media_objects(id);
}

int media_delete(db *d, int64_t owner, int64_t id, domain_error *err)
{
    store_media m;
    int rc = media_get_own(d, owner, id, &m, err);
    if (rc < 0)
        return rc;
    store_media_free(&m);
    if (store_media_in_use(d, id))
        return domain_fail(err, ERR_CONFLICT, "media_in_use", "a post shows this media");
    char payload[64];
    snprintf(payload, sizeof payload, "{\"media_id\":%lld}", (long long)id);
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_job_cancel_matching(d, MEDIA_PROCESS_JOB, payload, now_ms()) < 0 ||
        store_media_delete(d, id) < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "delete media");
    }
    media_remove_files(id);
    return 0;
}

/* ---- videos ----------------------------------------------------------------------------------
 * A video is published progressively: a first rendition (the source cut into segments as it is
 * when ffmpeg_can_remux allows, else the ladder's rung nearest 480p encoded with x264's fastest
 * preset) makes it playable; the poster, the storyboard and the other rungs follow, each rung
 * added to the master playlist as it is complete. A rendition is written into "<name>.part" and renamed
 * into place when complete, so a retried job (the server was killed) skips what exists and
 * players never see half a rendition. */

#define PLAN_MAX (FFMPEG_MAX_RENDITIONS + 1)

typedef struct video_plan {
    hls_rendition r[PLAN_MAX]; /* r[0] is the first rendition */
    bool remux;                /* r[0] is the source cut as it is */
    int n;
} video_plan;

static void make_plan(const media_probe *p, bool remux, video_plan *plan)
{
    hls_rendition ladder[FFMPEG_MAX_RENDITIONS];
    int n = ffmpeg_ladder(p, ladder), first = 0;
    plan->remux = remux;
    plan->n = 1;
    if (remux) {
        ffmpeg_source_rendition(p, &plan->r[0]);
        first = -1;
    } else {
        for (int i = 0; i < n; i++)
            if (ladder[i].short_side <= 480)
                first = i;
        plan->r[0] = ladder[first];
    }
    for (int i = 0; i < n; i++)
        if (i != first && ladder[i].short_side != plan->r[0].short_side)
            plan->r[plan->n++] = ladder[i];
}

/* Whether the store holds the rendition complete: its playlist, put after its segments, is
 * there and ends the list (one from before renditions had .part directories may not). */
static bool rendition_done(int64_t id, const hls_rendition *r)
{
    char rel[64], line[64];
    object_info info;
    int fd;
    snprintf(rel, sizeof rel, "hls/%s/index.m3u8", r->dir);
    if (media_open_file(id, rel, &fd, &info) < 0)
        return false;
    FILE *f = fdopen(fd, "r");
    bool done = false;
    while (f && !done && fgets(line, sizeof line, f))
        done = !strncmp(line, "#EXT-X-ENDLIST", 14);
    if (f)
        fclose(f);
    else
        close(fd);
    return done;
}

static void remove_tree(int64_t id, const char *rel)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "media/%lld/%s", (long long)id, rel);
    objects_delete_prefix(objs, prefix);
}

/* Produces one rendition into hls/<name>.part, renamed to hls/<name> once complete. */
static int make_rendition(int64_t id, const char *original, const char *hls, const media_probe *p,
                          const hls_rendition *r, int how, progress_arg *pa, char *why,
                          size_t why_size)
{
    char rel[96], part[4400];
    snprintf(rel, sizeof rel, "hls/%s.part", r->dir);
    remove_tree(id, rel); /* what a killed attempt left */
    snprintf(part, sizeof part, "%s/%s.part", hls, r->dir);
    if (mkdir(part, 0750) < 0) {
        snprintf(why, why_size, "cannot create hls/%s.part: %s", r->dir, strerror(errno));
        return ERR_IO;
    }
    int rc = how == 0   ? ffmpeg_remux_hls(original, part, p, on_progress, pa, why, why_size)
             : how == 1 ? ffmpeg_encode_rendition(original, part, p, r, "ultrafast",
                                                  on_progress, pa, why, why_size)
                        : ffmpeg_encode_rendition(original, part, p, r, "veryfast", on_progress,
                                                  pa, why, why_size);
    if (rc < 0) {
        remove_tree(id, rel);
        return rc;
    }
    /* into the store as a whole (the local store: one rename; a remote one: the segments, then
     * the playlist that marks it complete) */
    snprintf(rel, sizeof rel, "media/%lld/hls/%s", (long long)id, r->dir);
    rc = objects_put_dir(objs, rel, part, "index.m3u8");
    if (rc < 0) {
        snprintf(why, why_size, "cannot store hls/%s: %s", r->dir,
                 rc == ERR_BUSY ? "the object store is unavailable" : "write failed");
        return rc == ERR_BUSY ? ERR_BUSY : ERR_IO;
    }
    return 0;
}

static int by_short_side(const void *a, const void *b)
{
    return ((const hls_rendition *)a)->short_side - ((const hls_rendition *)b)->short_side;
}

/* Lists the complete renditions in the master playlist and the record (smallest first) and
 * shows the posts using the media: from the first one on, the video plays. */
static int publish_renditions(db *d, int64_t id, const char *hls, const video_plan *plan,
                              const media_probe *p, int progress, bool final)
{
    hls_rendition done[PLAN_MAX];
    int n = 0;
    for (int i = 0; i < plan->n; i++)
        if (rendition_done(id, &plan->r[i]))
            done[n++] = plan->r[i];
    qsort(done, (size_t)n, sizeof done[0], by_short_side);
    static const char *const master[] = {"hls/master.m3u8", NULL};
    char dir[4200];
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(hls) - 4), hls); /* hls is <dir>/hls */
    if (n == 0 || ffmpeg_write_master(hls, done, n) < 0 || publish_files(id, dir, master) < 0)
        return ERR_IO;
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:i}", "name", done[i].dir,
                                              "width", done[i].width, "height", done[i].height,
                                              "bandwidth",
                                              (done[i].video_kbps + done[i].audio_kbps) * 1000));
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    int rc = note_state(d, id, final ? "ready" : "processing", final ? 100 : progress, NULL,
                        NULL, text, true, now_ms());
    free(text);
    return rc < 0 ? rc : posts_ready(d, id, p);
}

/* A duet/stitch may have started composing into this record meanwhile: the result is stale. */
static bool composing_now(db *d, int64_t id)
{
    store_media m;
    if (store_media_get(d, id, &m) != 0)
        return false;
    bool composing = !strcmp(m.state, "composing");
    store_media_free(&m);
    return composing;
}

/* The first rendition: the source cut as it is when it can be, else encoded fast. */
static int first_rendition(int64_t id, const char *original, const char *hls,
                           const media_probe *p, video_plan *plan, progress_arg *pa, char *why,
                           size_t why_size)
{
    make_plan(p, ffmpeg_can_remux(p), plan);
    if (rendition_done(id, &plan->r[0]))
        return 0;
    if (plan->remux) {
        int rc = make_rendition(id, original, hls, p, &plan->r[0], 0, pa, why, why_size);
        if (rc != ERR_INVALID)
            return rc;
        log_info("keyframes too sparse to serve the source as it is", "\"media_id\":%lld",
                 (long long)id);
        make_plan(p, false, plan);
        if (rendition_done(id, &plan->r[0]))
            return 0;
    }
    return make_rendition(id, original, hls, p, &plan->r[0], 1, pa, why, why_size);
}

/* The job's result for an ffmpeg failure. */
static job_result failed_step(db *d, int64_t id, int rc, const char *why, char *err,
                              size_t err_size)
{
    if (rc == ERR_CANCELLED) {
        snprintf(err, err_size, "cancelled");
        return JOB_RETRY;
    }
    if (rc == ERR_INVALID)
        return refuse(d, id, why, err, err_size);
    snprintf(err, err_size, "%s", why[0] ? why : "the object store is unavailable");
    return JOB_RETRY;
}

static job_result process_video(job_ctx *ctx, db *d, int64_t id, const char *dir,
                                const char *original, const media_probe *p, char *err,
                                size_t err_size)
{
    char hls[4300], why[512] = "";
    snprintf(hls, sizeof hls, "%s/hls", dir);
    if (make_dirs(hls) < 0) {
        snprintf(err, err_size, "cannot create %s", hls);
        return JOB_RETRY;
    }
    video_plan plan;
    make_plan(p, ffmpeg_can_remux(p), &plan);
    /* shares of the progress: the first rendition, the storyboard, then each other rung */
    int span = 100 / (plan.n + 1);
    progress_arg pa = {ctx, d, id, false, 0, span};
    int rc = first_rendition(id, original, hls, p, &plan, &pa, why, sizeof why);
    if (rc < 0)
        return failed_step(d, id, rc, why, err, err_size);
    if (composing_now(d, id))
        return JOB_OK;
    if (publish_renditions(d, id, hls, &plan, p, span, false) < 0) {
        snprintf(err, err_size, "record playable: %s", db_errmsg(d));
        return JOB_RETRY;
    }
    pa.playable = true;
    log_info("media playable", "\"media_id\":%lld,\"first\":\"%s\",\"remux\":%s",
             (long long)id, plan.r[0].dir, plan.remux ? "true" : "false");
    /* the poster after playable: writing one JPEG costs ffmpeg about 2 s of CPU on a 1080p
     * source, most of the budget for playable (docs/BENCHMARKS.md, issue 12) */
    static const char *const poster[] = {"thumb_160.jpg", "thumb_480.jpg", "thumb_720.jpg",
                                         "poster.jpg", NULL};
    static const char *const storyboard[] = {"storyboard.jpg", "storyboard.vtt", NULL};
    if (!media_has(id, "poster.jpg") &&
        ((rc = ffmpeg_poster(original, dir, p, why, sizeof why)) < 0 ||
         (rc = publish_files(id, dir, poster)) < 0))
        return failed_step(d, id, rc, why, err, err_size);
    pa.base = span;
    if (!media_has(id, "storyboard.vtt") &&
        ((rc = ffmpeg_storyboard(original, dir, p, on_progress, &pa, why, sizeof why)) < 0 ||
         (rc = publish_files(id, dir, storyboard)) < 0))
        return failed_step(d, id, rc, why, err, err_size);
    for (int i = 1; i < plan.n; i++) {
        pa.base = span * (i + 1);
        if (rendition_done(id, &plan.r[i]))
            continue;
        rc = make_rendition(id, original, hls, p, &plan.r[i], 2, &pa, why, sizeof why);
        if (rc < 0)
            return failed_step(d, id, rc, why, err, err_size);
        if (composing_now(d, id))
            return JOB_OK;
        if (i + 1 < plan.n && publish_renditions(d, id, hls, &plan, p, pa.base + span, false) < 0) {
            snprintf(err, err_size, "record rendition: %s", db_errmsg(d));
            return JOB_RETRY;
        }
    }
    if (publish_renditions(d, id, hls, &plan, p, 100, true) < 0) {
        snprintf(err, err_size, "record ready: %s", db_errmsg(d));
        return JOB_RETRY;
    }
    settled(d, id);
    log_info("media ready", "\"media_id\":%lld,\"duration_s\":%.3f", (long long)id,
             p->duration_s);
    return JOB_OK;
}

static job_result process_media(job_ctx *ctx, db *d, int64_t id, char *err, size_t err_size);

job_result media_process_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size)
{
    json_t *payload = json_loads(job->payload, 0, NULL);
    json_int_t id = 0;
    if (!payload || json_unpack(payload, "{s:I}", "media_id", &id) < 0) {
        json_decref(payload);
        snprintf(err, err_size, "bad payload");
        return JOB_FAIL;
    }
    json_decref(payload);
    /* a remote store's scratch copy goes whatever the outcome: a retry fetches afresh */
    release_workdir(id);
    job_result res = process_media(ctx, job_db(ctx), id, err, err_size);
    release_workdir(id);
    return res;
}

/* Fetches the original into the media's workdir (nothing to do on the local store). */
static int fetch_original(int64_t id, const char *dir, char *original, size_t n)
{
    char key[64];
    snprintf(original, n, "%s/original", dir);
    media_key(id, "original", key, sizeof key);
    return objects_fetch(objs, key, original);
}

static job_result process_media(job_ctx *ctx, db *d, int64_t id, char *err, size_t err_size)
{
    store_media m;
    int rc = store_media_get(d, id, &m);
    if (rc == ERR_NOT_FOUND)
        return JOB_OK; /* deleted meanwhile: nothing to do */
    if (rc < 0) {
        snprintf(err, err_size, "load media: %s", db_errmsg(d));
        return JOB_RETRY;
    }
    /* composing: a duet/stitch rendering replaces the file and queues processing afresh */
    bool done = !strcmp(m.state, "ready") || !strcmp(m.state, "failed") ||
                !strcmp(m.state, "composing");
    bool playable = media_playable(&m);
    store_media_free(&m);
    if (done)
        return JOB_OK;
    char dir[4200], original[4300], why[512] = "";
    if (media_dir(id, dir, sizeof dir) < 0) {
        snprintf(err, err_size, "cannot create the media's work directory");
        return JOB_RETRY;
    }
    rc = fetch_original(id, dir, original, sizeof original);
    if (rc == ERR_NOT_FOUND)
        return refuse(d, id, "the original is missing", err, err_size);
    if (rc < 0) {
        snprintf(err, err_size, "fetch the original: %s",
                 rc == ERR_BUSY ? "the object store is unavailable" : "failed");
        return JOB_RETRY;
    }
    media_probe p;
    rc = ffmpeg_probe(original, &p, why, sizeof why);
    if (rc == ERR_INVALID)
        return refuse(d, id, why, err, err_size);
    if (rc < 0) {
        snprintf(err, err_size, "%s", why);
        return JOB_RETRY;
    }
    if (!strcmp(m.kind, "image")) {
        /* upright, metadata-free copies; the probe reports the upright size */
        int w, h;
        rc = images_process(original, dir, &w, &h, why, sizeof why);
        if (rc == ERR_INVALID)
            return refuse(d, id, why, err, err_size);
        if (rc < 0) {
            snprintf(err, err_size, "%s", why);
            return JOB_RETRY;
        }
        static const char *const images[] = {"thumb_160.jpg", "thumb_480.jpg", "thumb_720.jpg",
                                             "image.jpg", NULL};
        if (publish_files(id, dir, images) < 0) {
            snprintf(err, err_size, "store the image: the object store is unavailable");
            return JOB_RETRY;
        }
        p.display_width = w;
        p.display_height = h;
        char *image_probe = probe_json(&p);
        set_state(d, id, "ready", 100, NULL, image_probe, "[]", now_ms());
        p.duration_s = 0; /* a still image: no duration for players */
        posts_ready(d, id, &p);
        free(image_probe);
        settled(d, id);
        return JOB_OK;
    }
    char *probe = probe_json(&p);
    if (!p.has_video) {
        free(probe);
        return refuse(d, id, "no video stream", err, err_size);
    }
    if (p.duration_s <= 0) {
        free(probe);
        return refuse(d, id, "the video has no duration", err, err_size);
    }
    if (p.duration_s > (double)max_duration_s) {
        free(probe);
        snprintf(why, sizeof why, "the video is longer than %lld seconds",
                 (long long)max_duration_s);
        return refuse(d, id, why, err, err_size);
    }
    /* a retry after playable keeps its renditions (NULL leaves them) and stays playable */
    note_state(d, id, "processing", 0, NULL, probe, NULL, playable, now_ms());
    free(probe);
    return process_video(ctx, d, id, dir, original, &p, err, err_size);
}

int media_queue_compose(db *d, int64_t *media_id, int64_t source_media_id, bool stitch)
{
    store_media clip, out;
    int rc = store_media_get(d, *media_id, &clip);
    if (rc < 0)
        return rc;
    memset(&out, 0, sizeof out);
    out.id = id_next();
    out.owner_id = clip.owner_id;
    snprintf(out.kind, sizeof out.kind, "video");
    snprintf(out.mime, sizeof out.mime, "video/mp4");
    snprintf(out.filename, sizeof out.filename, "%s", clip.filename);
    out.size = clip.size; /* until the rendering replaces it */
    snprintf(out.state, sizeof out.state, "composing");
    out.created_at = out.updated_at = now_ms();
    store_media_free(&clip);
    char payload[192];
    snprintf(payload, sizeof payload,
             "{\"media_id\":%lld,\"input_media_id\":%lld,\"source_media_id\":%lld,"
             "\"mode\":\"%s\"}",
             (long long)out.id, (long long)*media_id, (long long)source_media_id,
             stitch ? "stitch" : "duet");
    rc = store_media_insert(d, &out);
    if (rc == 0)
        rc = job_enqueue(d, MEDIA_COMPOSE_JOB, payload, &(job_options){.max_attempts = 3}, NULL);
    if (rc == 0)
        *media_id = out.id;
    return rc;
}

#define STITCH_SECONDS 5.0

static job_result compose(job_ctx *ctx, db *d, int64_t id, int64_t input, int64_t source,
                          bool stitch, int64_t attempt, char *err, size_t err_size);

job_result media_compose_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size)
{
    json_t *payload = json_loads(job->payload, 0, NULL);
    json_int_t id = 0, source = 0, input = 0;
    const char *mode = NULL;
    if (!payload || json_unpack(payload, "{s:I, s:I, s:s, s?I}", "media_id", &id, "source_media_id",
                                &source, "mode", &mode, "input_media_id", &input) < 0) {
        json_decref(payload);
        snprintf(err, err_size, "bad payload");
        return JOB_FAIL;
    }
    bool stitch = !strcmp(mode, "stitch");
    json_decref(payload);
    if (!input)
        input = id; /* jobs queued before renderings had records of their own render in place */
    db *d = job_db(ctx);
    /* the post (and with it the rendering's record) was deleted meanwhile: leave no files */
    store_media self;
    int have = store_media_get(d, id, &self);
    if (have == ERR_NOT_FOUND)
        return JOB_OK;
    if (have < 0) {
        snprintf(err, err_size, "load media: %s", db_errmsg(d));
        return JOB_RETRY;
    }
    store_media_free(&self);
    release_workdir(id);
    job_result res = compose(ctx, d, id, input, source, stitch, job->attempts, err, err_size);
    release_workdir(id);
    return res;
}

/* A local file with media's original: the store's own file on the local store, else a copy
 * fetched into dir as name (dir is the composing record's workdir, so a transcode of that media
 * running meanwhile keeps its own). */
static int original_copy(int64_t media, const char *dir, const char *name, char *path, size_t n)
{
    char key[64];
    media_key(media, "original", key, sizeof key);
    if (!objects_remote(objs)) {
        char own[4200];
        int rc = media_dir(media, own, sizeof own);
        snprintf(path, n, "%s/original", own);
        return rc;
    }
    snprintf(path, n, "%s/%s", dir, name);
    return objects_fetch(objs, key, path);
}

/* The render's progress renews the job's lease (10..90% of the job) and stops the render once
 * the lease is lost or the runner stops. */
static bool on_compose_progress(void *ctx, int percent)
{
    return job_progress(ctx, 10 + percent * 80 / 100);
}

/* Should a worker still lose the lease during the render (paused, starved), another worker runs
 * the job beside it: each attempt renders into a file of its own, and only the attempt still
 * holding the lease replaces the original and queues the processing (two renders into one
 * file, one renamed away while the other wrote it, gave the processing a truncated original;
 * before the render reported progress, two loaded workers took it from each other 14 times). */
static job_result compose(job_ctx *ctx, db *d, int64_t id, int64_t input, int64_t source,
                          bool stitch, int64_t attempt, char *err, size_t err_size)
{
    char dir[4200], mine[4300], theirs[4300], out[4300], key[64], why[512] = "";
    if (media_dir(id, dir, sizeof dir) < 0) {
        snprintf(err, err_size, "cannot create the media's work directory");
        return JOB_RETRY;
    }
    int rc = original_copy(input, dir, "input.original", mine, sizeof mine);
    if (rc == 0)
        rc = original_copy(source, dir, "source.original", theirs, sizeof theirs);
    if (rc < 0 && rc != ERR_NOT_FOUND) {
        snprintf(err, err_size, "fetch the originals: %s",
                 rc == ERR_BUSY ? "the object store is unavailable" : "failed");
        return JOB_RETRY;
    }
    snprintf(out, sizeof out, "%s/composed.%lld.mp4", dir, (long long)attempt);
    media_probe np, sp;
    if (ffmpeg_probe(mine, &np, why, sizeof why) < 0 ||
        ffmpeg_probe(theirs, &sp, why, sizeof why) < 0)
        return refuse(d, id, why, err, err_size);
    if (!job_progress(ctx, 10))
        return JOB_RETRY;
    rc = ffmpeg_compose(mine, &np, theirs, &sp, stitch, STITCH_SECONDS, out, on_compose_progress,
                        ctx, why, sizeof why);
    if (rc == ERR_CANCELLED || (rc >= 0 && !job_progress(ctx, 90))) {
        unlink(out);
        snprintf(err, err_size, "the lease was lost or the runner is stopping");
        return JOB_RETRY;
    }
    if (rc < 0) {
        unlink(out);
        return refuse(d, id, why, err, err_size);
    }
    /* the rendering becomes the media's original, which is then processed as usual */
    struct stat st;
    media_key(id, "original", key, sizeof key);
    if (stat(out, &st) < 0 || objects_put_file(objs, key, out) < 0) {
        snprintf(err, err_size, "cannot replace the original");
        return JOB_RETRY;
    }
    char next[64];
    snprintf(next, sizeof next, "{\"media_id\":%lld}", (long long)id);
    if (db_begin(d) < 0)
        return JOB_RETRY;
    /* composing -> processing -> ready: never back to uploaded. The heartbeat first: its row
     * lock keeps another worker's claim out until this commit, so one attempt queues. */
    if (!job_progress(ctx, 95) || set_state(d, id, "processing", 0, NULL, NULL, NULL, now_ms()) < 0 ||
        store_media_set_size(d, id, (int64_t)st.st_size) < 0 ||
        job_enqueue(d, MEDIA_PROCESS_JOB, next, &(job_options){.max_attempts = 3}, NULL) < 0 ||
        db_commit(d) < 0) {
        db_rollback(d);
        snprintf(err, err_size, "queue processing: %s", db_errmsg(d));
        return JOB_RETRY;
    }
    log_info(stitch ? "stitch rendered" : "duet rendered", "\"media_id\":%lld", (long long)id);
    return JOB_OK;
}

int media_get_signed(db *d, int64_t id, const char *rel, const char *path, const char *exp,
                     const char *sig, store_media *out, domain_error *err)
{
    if (!strcmp(rel, "original"))
        return domain_fail(err, ERR_FORBIDDEN, "owner_only", "the original is for its owner");
    if (!media_url_valid(path, exp, sig, now_ms() / 1000))
        return domain_fail(err, ERR_FORBIDDEN, "bad_signature",
                           "the link is invalid or has expired");
    return store_media_get(d, id, out);
}

void media_free(store_media *m)
{
    store_media_free(m);
}

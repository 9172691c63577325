/* SPDX-License-Identifier: MIT
 *
 * ffmpeg driver: see ffmpeg.h. Child processes get argv arrays (never a shell line), stdin from
 * /dev/null, stdout on a pipe we read (ffprobe's JSON, ffmpeg's -progress key=value lines) and
 * stderr on a pipe whose tail becomes the error message when they fail.
 */
#include "jobs/ffmpeg.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_TAIL 600
#define TICK_MS 1000

typedef struct child_io {
    buf out;                  /* all of stdout when no line callback is given */
    char err_tail[STDERR_TAIL]; /* the end of stderr */
    /* called for each complete stdout line; returning false kills the child */
    bool (*on_line)(void *arg, const char *line);
    /* called every TICK_MS while the child runs; returning false kills it */
    bool (*on_tick)(void *arg);
    void *arg;
    bool cancelled;
} child_io;

static void keep_tail(char *tail, const char *data, size_t n)
{
    size_t have = strlen(tail);
    if (n >= STDERR_TAIL - 1) {
        memcpy(tail, data + n - (STDERR_TAIL - 1), STDERR_TAIL - 1);
        tail[STDERR_TAIL - 1] = '\0';
        return;
    }
    if (have + n >= STDERR_TAIL) {
        size_t drop = have + n - (STDERR_TAIL - 1);
        memmove(tail, tail + drop, have - drop);
        have -= drop;
    }
    memcpy(tail + have, data, n);
    tail[have + n] = '\0';
}

/* argv[0] looked up on PATH as execvp would (an absolute or relative path is taken as it is);
 * 0 or an errno value. */
static int find_program(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return access(out, X_OK) == 0 ? 0 : errno;
    }
    const char *env = getenv("PATH");
    char *paths = xstrdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
    int rc = ENOENT;
    for (char *dir = strtok_r(paths, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", *dir ? dir : ".", name);
        if (access(out, X_OK) == 0) {
            rc = 0;
            break;
        }
    }
    free(paths);
    return rc;
}

/* Runs argv to completion; returns its exit status (0 = success), or -1 when it could not start
 * or was killed. */
static int run_child(char *const argv[], child_io *io)
{
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    /* fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a server killed with -9 takes
     * its encoders with it. Left running, an orphaned ffmpeg kept writing into the rendition's
     * .part directory that the restarted server's resumed job was writing too. The path is
     * resolved before the fork: the child only makes async-signal-safe calls. */
    char path[PATH_MAX];
    int rc = find_program(argv[0], path, sizeof path);
    pid_t parent = getpid(), pid = -1;
    if (rc == 0 && (pid = fork()) == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127); /* the server died before the signal was armed */
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out[1], 1) < 0 || dup2(errp[1], 2) < 0)
            _exit(127);
        setpriority(PRIO_PROCESS, 0, 10); /* encoding yields to the API's threads */
        execve(path, argv, environ);
        _exit(127);
    }
    if (rc == 0 && pid < 0)
        rc = errno;
    close(out[1]);
    close(errp[1]);
    if (rc != 0) {
        snprintf(io->err_tail, sizeof io->err_tail, "cannot run %s: %s", argv[0], strerror(rc));
        close(out[0]);
        close(errp[0]);
        return -1;
    }
    buf line = {0};
    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
    int open_fds = 2;
    char chunk[4096];
    while (open_fds > 0) {
        int ready = poll(fds, 2, io->on_tick ? TICK_MS : -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (io->on_tick && !io->cancelled && !io->on_tick(io->arg)) {
            io->cancelled = true;
            kill(pid, SIGKILL);
        }
        if (ready == 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 1) {
                keep_tail(io->err_tail, chunk, (size_t)n);
            } else if (!io->on_line) {
                buf_append(&io->out, chunk, (size_t)n);
            } else {
                for (ssize_t k = 0; k < n; k++) {
                    if (chunk[k] != '\n') {
                        buf_append(&line, &chunk[k], 1);
                        continue;
                    }
                    buf_append(&line, "", 1);
                    if (!io->cancelled && !io->on_line(io->arg, line.data)) {
                        io->cancelled = true;
                        kill(pid, SIGKILL);
                    }
                    line.len = 0;
                }
            }
        }
    }
    buf_free(&line);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (io->cancelled)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The last line of ffmpeg's stderr is usually the reason; keep messages short. */
static void child_error(const child_io *io, const char *what, char *err, size_t n)
{
    const char *t = io->err_tail;
    size_t len = strlen(t);
    while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
        len--;
    const char *start = t + len;
    while (start > t && start[-1] != '\n')
        start--;
    snprintf(err, n, "%s: %.*s", what, (int)(t + len - start), start);
}

static double number_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return atof(json_string_value(v));
    return json_is_number(v) ? json_number_value(v) : 0;
}

static int normalize_degrees(double r)
{
    return ((int)lround(r) % 360 + 360) % 360;
}

/* Degrees clockwise to display. Display-matrix side data counts counter-clockwise (a phone held
 * upright records -90); the older "rotate" tag counts clockwise. */
static int rotation_of(json_t *stream)
{
    json_t *side = json_object_get(stream, "side_data_list"), *item;
    size_t i;
    json_array_foreach(side, i, item) {
        if (json_object_get(item, "rotation"))
            return normalize_degrees(-number_of(item, "rotation"));
    }
    return normalize_degrees(number_of(json_object_get(stream, "tags"), "rotate"));
}

int ffmpeg_probe(const char *path, media_probe *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    char *const argv[] = {"ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", (char *)path, NULL};
    child_io io = {0};
    int status = run_child(argv, &io);
    if (status != 0) {
        child_error(&io, "not a readable media file", err, err_size);
        buf_free(&io.out);
        return status < 0 && !io.err_tail[0] ? ERR_IO : ERR_INVALID;
    }
    json_error_t jerr;
    json_t *root = json_loadb(io.out.data ? io.out.data : "", io.out.len, 0, &jerr);
    buf_free(&io.out);
    if (!root) {
        snprintf(err, err_size, "unreadable ffprobe output");
        return ERR_INVALID;
    }
    json_t *format = json_object_get(root, "format"), *streams = json_object_get(root, "streams");
    snprintf(out->format, sizeof out->format, "%s",
             json_string_value(json_object_get(format, "format_name")) ?: "");
    out->duration_s = number_of(format, "duration");
    out->bit_rate = (int64_t)number_of(format, "bit_rate");
    size_t i;
    json_t *s;
    json_array_foreach(streams, i, s) {
        const char *type = json_string_value(json_object_get(s, "codec_type"));
        const char *codec = json_string_value(json_object_get(s, "codec_name"));
        if (!type)
            continue;
        if (!strcmp(type, "video") && !out->has_video &&
            !json_is_true(json_object_get(json_object_get(s, "disposition"), "attached_pic"))) {
            out->has_video = true;
            snprintf(out->video_codec, sizeof out->video_codec, "%s", codec ? codec : "");
            out->width = (int)number_of(s, "width");
            out->height = (int)number_of(s, "height");
            out->rotation = rotation_of(s);
            snprintf(out->video_profile, sizeof out->video_profile, "%s",
                     json_string_value(json_object_get(s, "profile")) ?: "");
            snprintf(out->pix_fmt, sizeof out->pix_fmt, "%s",
                     json_string_value(json_object_get(s, "pix_fmt")) ?: "");
            out->video_level = (int)number_of(s, "level");
            const char *rate = json_string_value(json_object_get(s, "avg_frame_rate"));
            int num = 0, den = 0;
            if (rate && sscanf(rate, "%d/%d", &num, &den) == 2 && den > 0)
                out->fps = (double)num / den;
            if (out->duration_s <= 0)
                out->duration_s = number_of(s, "duration");
        } else if (!strcmp(type, "audio") && !out->has_audio) {
            out->has_audio = true;
            snprintf(out->audio_codec, sizeof out->audio_codec, "%s", codec ? codec : "");
        }
    }
    json_decref(root);
    bool turned = out->rotation == 90 || out->rotation == 270;
    out->display_width = turned ? out->height : out->width;
    out->display_height = turned ? out->width : out->height;
    return 0;
}

/* One rendition of side (the short side) at video_kbps. */
static void rung(const media_probe *p, int side, int video_kbps, hls_rendition *r)
{
    bool portrait = p->display_height > p->display_width;
    int source_short = portrait ? p->display_width : p->display_height;
    r->short_side = side;
    /* the long side keeps the aspect ratio, rounded to the nearest even number as H.264 4:2:0
     * requires (16:9 at 240 gives 426.7, hence 426) */
    double exact =
        (double)side * (portrait ? p->display_height : p->display_width) / (double)source_short;
    int long_side = 2 * (int)lround(exact / 2);
    r->width = portrait ? side : long_side;
    r->height = portrait ? long_side : side;
    r->video_kbps = video_kbps;
    r->audio_kbps = p->has_audio ? 128 : 0;
    snprintf(r->dir, sizeof r->dir, "%dp", side);
}

int ffmpeg_ladder(const media_probe *p, hls_rendition *out)
{
    static const struct {
        int side, video_kbps;
    } rungs[] = {{240, 400}, {480, 1000}, {720, 2500}};
    bool portrait = p->display_height > p->display_width;
    int source = (portrait ? p->display_width : p->display_height) & ~1;
    int n = 0;
    for (size_t i = 0; i < sizeof rungs / sizeof rungs[0]; i++) {
        if (rungs[i].side <= source) {
            rung(p, rungs[i].side, rungs[i].video_kbps, &out[n++]);
            continue;
        }
        /* The source falls short of this rung: its own size is the top rung, so a 360p upload
         * is not played at 240p at best. Its bit rate lies between the neighbours' by size. */
        if (n == 0) {
            rung(p, source, rungs[0].video_kbps, &out[n++]); /* under 240p: the source's size */
        } else if (source > out[n - 1].short_side) {
            int lo = rungs[i - 1].side, hi = rungs[i].side;
            int kbps = rungs[i - 1].video_kbps +
                       (rungs[i].video_kbps - rungs[i - 1].video_kbps) * (source - lo) / (hi - lo);
            rung(p, source, kbps, &out[n++]);
        }
        break;
    }
    return n;
}

typedef struct progress_state {
    double duration_us;
    ffmpeg_progress_fn fn;
    void *arg;
    int last;
    int64_t reported_ms;
} progress_state;

/* Time between reports when the percentage does not move: each report renews the job's lease,
 * so a long decode on a busy node is not taken for a dead worker and run a second time beside
 * itself. Well under the shortest --job-lease (5 s): at 5 s, two workers on a loaded machine
 * took a transcode from each other up to 10 times. */
#define PROGRESS_HEARTBEAT_MS 1000

static bool on_progress_line(void *arg, const char *line)
{
    progress_state *ps = arg;
    long long us;
    if (!ps->fn || sscanf(line, "out_time_us=%lld", &us) != 1)
        return true;
    int pct = ps->duration_us > 0 ? (int)(100.0 * (double)us / ps->duration_us) : 0;
    pct = pct < 0 ? 0 : pct > 99 ? 99 : pct;
    if (pct == ps->last)
        return true;
    ps->last = pct;
    ps->reported_ms = now_ms();
    return ps->fn(ps->arg, pct);
}

/* ffmpeg writes no progress while a filter holds its only output frame back (a storyboard's
 * tile comes out at the end): a timer reports the last percentage again. */
static bool on_progress_tick(void *arg)
{
    progress_state *ps = arg;
    int64_t now = now_ms();
    if (!ps->fn || now - ps->reported_ms < PROGRESS_HEARTBEAT_MS)
        return true;
    ps->reported_ms = now;
    return ps->fn(ps->arg, ps->last < 0 ? 0 : ps->last);
}

/* A growable argv of owned strings. */
typedef struct args {
    char *v[160];
    int n;
} args;

static void add(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (a->n < (int)(sizeof a->v / sizeof a->v[0]) - 1)
        a->v[a->n++] = s;
    else
        free(s);
    a->v[a->n] = NULL;
}

static void free_args(args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* Every ffmpeg we run: no stdin, only errors on stderr (the last line becomes the job's reason),
 * outputs overwritten (a retried job rewrites what a killed one left). Inputs follow. */
static void add_ffmpeg(args *a)
{
    add(a, "ffmpeg");
    add(a, "-nostdin");
    add(a, "-hide_banner");
    add(a, "-loglevel");
    add(a, "error");
    add(a, "-y");
}

/* The prelude and one input file. */
static void add_head(args *a, const char *input)
{
    add_ffmpeg(a);
    add(a, "-i");
    add(a, "%s", input);
}

/* HLS VOD output into dir (4-second segments where keyframes allow), progress on stdout. */
static void add_hls_tail(args *a, const char *dir)
{
    add(a, "-f");
    add(a, "hls");
    add(a, "-hls_time");
    add(a, "4");
    add(a, "-hls_playlist_type");
    add(a, "vod");
    add(a, "-hls_flags");
    add(a, "independent_segments");
    add(a, "-hls_segment_filename");
    add(a, "%s/seg%%03d.ts", dir);
    add(a, "-progress");
    add(a, "pipe:1");
    add(a, "-nostats");
    add(a, "%s/index.m3u8", dir);
}

/* Runs an ffmpeg argv that reports progress; frees it. */
static int run_encoder(args *a, const media_probe *p, ffmpeg_progress_fn progress, void *arg,
                       const char *what, char *err, size_t err_size)
{
    progress_state ps = {.duration_us = p->duration_s * 1e6, .fn = progress, .arg = arg,
                         .last = -1, .reported_ms = now_ms()};
    child_io io = {.on_line = on_progress_line, .on_tick = on_progress_tick, .arg = &ps};
    int status = run_child(a->v, &io);
    free_args(a);
    if (io.cancelled) {
        snprintf(err, err_size, "cancelled");
        return ERR_CANCELLED;
    }
    if (status != 0) {
        child_error(&io, what, err, err_size);
        return ERR_INVALID;
    }
    return 0;
}

bool ffmpeg_can_remux(const media_probe *p)
{
    static const char *const profiles[] = {"Constrained Baseline", "Baseline", "Main", "High",
                                           NULL};
    bool profile_ok = false;
    for (const char *const *q = profiles; *q; q++)
        profile_ok = profile_ok || !strcmp(p->video_profile, *q);
    int short_side = p->width < p->height ? p->width : p->height;
    return p->has_video && !strcmp(p->video_codec, "h264") && profile_ok &&
           p->video_level > 0 && p->video_level <= 42 && !strcmp(p->pix_fmt, "yuv420p") &&
           p->rotation == 0 && short_side > 0 && short_side <= 1080 && p->bit_rate > 0 &&
           p->bit_rate <= FFMPEG_REMUX_MAX_KBPS * 1000LL;
}

void ffmpeg_source_rendition(const media_probe *p, hls_rendition *out)
{
    memset(out, 0, sizeof *out);
    bool portrait = p->display_height > p->display_width;
    out->short_side = portrait ? p->display_width : p->display_height;
    out->width = p->display_width;
    out->height = p->display_height;
    /* the container's rate covers sound too: all of it is the video's share here */
    out->video_kbps = (int)(p->bit_rate / 1000);
    out->audio_kbps = 0;
    snprintf(out->dir, sizeof out->dir, "%dp", out->short_side);
}

/* The #EXT-X-TARGETDURATION of a written playlist (0 when unreadable). */
static int target_duration(const char *dir)
{
    char path[4200], line[256];
    snprintf(path, sizeof path, "%s/index.m3u8", dir);
    FILE *f = fopen(path, "r");
    int seconds = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "#EXT-X-TARGETDURATION:%d", &seconds) == 1)
            break;
    if (f)
        fclose(f);
    return seconds;
}

int ffmpeg_remux_hls(const char *input, const char *out_dir, const media_probe *p,
                     ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size)
{
    args a = {0};
    add_head(&a, input);
    add(&a, "-map");
    add(&a, "0:V:0"); /* V: not a cover picture */
    add(&a, "-c:v");
    add(&a, "copy");
    if (p->has_audio) {
        add(&a, "-map");
        add(&a, "0:a:0");
        add(&a, "-c:a");
        /* other sound is re-encoded: cheap next to video, and every player decodes AAC */
        if (!strcmp(p->audio_codec, "aac")) {
            add(&a, "copy");
        } else {
            add(&a, "aac");
            add(&a, "-b:a");
            add(&a, "128k");
            add(&a, "-ac");
            add(&a, "2");
        }
    }
    add_hls_tail(&a, out_dir);
    int rc = run_encoder(&a, p, progress, arg, "remuxing failed", err, err_size);
    if (rc == 0 && target_duration(out_dir) > FFMPEG_REMUX_MAX_SEGMENT_S) {
        snprintf(err, err_size, "keyframes too sparse to cut segments");
        return ERR_INVALID;
    }
    return rc;
}

int ffmpeg_encode_rendition(const char *input, const char *out_dir, const media_probe *p,
                            const hls_rendition *r, const char *preset,
                            ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size)
{
    if (!p->has_video) {
        snprintf(err, err_size, "no video stream");
        return ERR_INVALID;
    }
    args a = {0};
    add_head(&a, input);
    add(&a, "-map");
    add(&a, "0:V:0");
    if (p->has_audio) {
        add(&a, "-map");
        add(&a, "0:a:0");
    }
    add(&a, "-vf");
    add(&a, "scale=%d:%d,setsar=1", r->width, r->height);
    add(&a, "-c:v");
    add(&a, "libx264");
    add(&a, "-preset");
    add(&a, "%s", preset);
    add(&a, "-profile:v");
    add(&a, "main");
    add(&a, "-pix_fmt");
    add(&a, "yuv420p");
    add(&a, "-sc_threshold");
    add(&a, "0");
    add(&a, "-force_key_frames");
    add(&a, "expr:gte(t,n_forced*%d)", 4);
    add(&a, "-b:v");
    add(&a, "%dk", r->video_kbps);
    add(&a, "-maxrate:v");
    add(&a, "%dk", r->video_kbps * 3 / 2);
    add(&a, "-bufsize:v");
    add(&a, "%dk", r->video_kbps * 2);
    if (p->has_audio) {
        add(&a, "-c:a");
        add(&a, "aac");
        add(&a, "-b:a");
        add(&a, "128k");
        add(&a, "-ac");
        add(&a, "2");
    }
    add_hls_tail(&a, out_dir);
    return run_encoder(&a, p, progress, arg, "transcoding failed", err, err_size);
}

int ffmpeg_write_master(const char *out_dir, const hls_rendition *r, int n)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/master.m3u8", out_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ERR_IO;
    fputs("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d\n%s/index.m3u8\n",
                (r[i].video_kbps + r[i].audio_kbps) * 1000, r[i].width, r[i].height, r[i].dir);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return ERR_IO;
    }
    return 0;
}

int ffmpeg_transcode_hls(const char *input, const char *out_dir, const media_probe *p,
                         ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size)
{
    if (!p->has_video) {
        snprintf(err, err_size, "no video stream");
        return ERR_INVALID;
    }
    hls_rendition r[FFMPEG_MAX_RENDITIONS];
    int n = ffmpeg_ladder(p, r);
    for (int i = 0; i < n; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", out_dir, r[i].dir);
        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
            snprintf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
            return ERR_IO;
        }
    }
    args a = {0};
    add_head(&a, input);
    /* decode once, split, scale each branch */
    buf graph = {0};
    buf_printf(&graph, "[0:v]split=%d", n);
    for (int i = 0; i < n; i++)
        buf_printf(&graph, "[s%d]", i);
    for (int i = 0; i < n; i++)
        buf_printf(&graph, ";[s%d]scale=%d:%d,setsar=1[v%d]", i, r[i].width, r[i].height, i);
    add(&a, "-filter_complex");
    add(&a, "%s", graph.data);
    buf_free(&graph);
    for (int i = 0; i < n; i++) {
        add(&a, "-map");
        add(&a, "[v%d]", i);
        if (p->has_audio) {
            add(&a, "-map");
            add(&a, "0:a:0");
        }
    }
    add(&a, "-c:v");
    add(&a, "libx264");
    add(&a, "-preset");
    add(&a, "veryfast");
    add(&a, "-profile:v");
    add(&a, "main");
    add(&a, "-pix_fmt");
    add(&a, "yuv420p");
    add(&a, "-sc_threshold");
    add(&a, "0");
    add(&a, "-force_key_frames");
    add(&a, "expr:gte(t,n_forced*%d)", 4);
    for (int i = 0; i < n; i++) {
        add(&a, "-b:v:%d", i);
        add(&a, "%dk", r[i].video_kbps);
        add(&a, "-maxrate:v:%d", i);
        add(&a, "%dk", r[i].video_kbps * 3 / 2);
        add(&a, "-bufsize:v:%d", i);
        add(&a, "%dk", r[i].video_kbps * 2);
    }
    if (p->has_audio) {
        add(&a, "-c:a");
        add(&a, "aac");
        add(&a, "-b:a");
        add(&a, "128k");
        add(&a, "-ac");
        add(&a, "2");
    }
    /* variant i is video stream i (and audio stream i), written to the rendition's dir */
    buf map = {0};
    for (int i = 0; i < n; i++) {
        buf_printf(&map, "%sv:%d", i ? " " : "", i);
        if (p->has_audio)
            buf_printf(&map, ",a:%d", i);
        buf_printf(&map, ",name:%s", r[i].dir);
    }
    add(&a, "-f");
    add(&a, "hls");
    add(&a, "-hls_time");
    add(&a, "4");
    add(&a, "-hls_playlist_type");
    add(&a, "vod");
    add(&a, "-hls_flags");
    add(&a, "independent_segments");
    add(&a, "-hls_segment_filename");
    add(&a, "%s/%%v/seg%%03d.ts", out_dir);
    add(&a, "-master_pl_name");
    add(&a, "master.m3u8");
    add(&a, "-var_stream_map");
    add(&a, "%s", map.data);
    buf_free(&map);
    add(&a, "-progress");
    add(&a, "pipe:1");
    add(&a, "-nostats");
    add(&a, "%s/%%v/index.m3u8", out_dir);

    progress_state ps = {.duration_us = p->duration_s * 1e6, .fn = progress, .arg = arg,
                         .last = -1};
    child_io io = {.on_line = on_progress_line, .arg = &ps};
    int status = run_child(a.v, &io);
    free_args(&a);
    if (io.cancelled) {
        snprintf(err, err_size, "cancelled");
        return ERR_CANCELLED;
    }
    if (status != 0) {
        child_error(&io, "transcoding failed", err, err_size);
        return ERR_INVALID;
    }
    return 0;
}

int ffmpeg_poster(const char *input, const char *out_dir, const media_probe *p, char *err,
                  size_t err_size)
{
    if (!p->has_video) {
        snprintf(err, err_size, "no video stream");
        return ERR_INVALID;
    }
    args a = {0};
    add_ffmpeg(&a);
    /* the keyframe at or before 10% in: a seek and one decoded frame, however far apart the
     * source's keyframes are, so the poster costs almost nothing before a video is playable */
    add(&a, "-noaccurate_seek");
    add(&a, "-ss");
    add(&a, "%.3f", p->duration_s * 0.1);
    add(&a, "-i");
    add(&a, "%s", input);
    add(&a, "-filter_complex");
    add(&a, "[0:v]split=4[p][a][b][c];[p]scale='min(720,iw)':-2[poster];"
            "[a]scale=160:-2[t160];[b]scale=480:-2[t480];[c]scale=720:-2[t720]");
    const char *outs[][2] = {{"[poster]", "poster.jpg"}, {"[t160]", "thumb_160.jpg"},
                             {"[t480]", "thumb_480.jpg"}, {"[t720]", "thumb_720.jpg"}};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        add(&a, "-map");
        add(&a, "%s", outs[i][0]);
        add(&a, "-frames:v");
        add(&a, "1");
        add(&a, "-q:v");
        add(&a, "4");
        add(&a, "%s/part-%s", out_dir, outs[i][1]);
    }
    child_io io = {0};
    int status = run_child(a.v, &io);
    free_args(&a);
    buf_free(&io.out);
    if (status != 0) {
        child_error(&io, "images failed", err, err_size);
        return ERR_INVALID;
    }
    /* Written under temporary names, then renamed with poster.jpg last: its presence is what tells
     * a resumed job (domain/media.c) that all four images are complete, so a process killed
     * while ffmpeg wrote them leaves no half image that would be kept. */
    for (int i = (int)(sizeof outs / sizeof outs[0]) - 1; i >= 0; i--) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/part-%s", out_dir, outs[i][1]);
        snprintf(to, sizeof to, "%s/%s", out_dir, outs[i][1]);
        if (rename(from, to) < 0) {
            snprintf(err, err_size, "cannot write %s", to);
            return ERR_IO;
        }
    }
    return 0;
}

int ffmpeg_storyboard(const char *input, const char *out_dir, const media_probe *p,
                      ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size)
{
    if (!p->has_video) {
        snprintf(err, err_size, "no video stream");
        return ERR_INVALID;
    }
    /* One frame every `every` seconds, at most 100 tiles (10 x 10). */
    double every = p->duration_s > 100 ? ceil(p->duration_s / 100) : 1;
    int frames = (int)ceil(p->duration_s / every);
    if (frames < 1)
        frames = 1;
    if (frames > 100)
        frames = 100;
    int cols = frames < 10 ? frames : 10, rows = (frames + 9) / 10;
    int tile_w = 160;
    int tile_h = (int)lround(160.0 * p->display_height / (p->display_width ? p->display_width : 1));
    tile_h += tile_h & 1;
    args a = {0};
    add_head(&a, input);
    add(&a, "-filter_complex");
    add(&a, "[0:v]fps=1/%g,scale=%d:%d,tile=%dx%d[sb]", every, tile_w, tile_h, cols, rows);
    add(&a, "-map");
    add(&a, "[sb]");
    add(&a, "-frames:v");
    add(&a, "1");
    add(&a, "-q:v");
    add(&a, "4");
    add(&a, "-progress");
    add(&a, "pipe:1");
    add(&a, "-nostats");
    add(&a, "%s/storyboard.jpg", out_dir);
    int rc = run_encoder(&a, p, progress, arg, "images failed", err, err_size);
    if (rc < 0)
        return rc;
    /* The WebVTT index: each cue names the sprite region (media fragment #xywh) for its time,
     * written under a temporary name so its presence means the storyboard is complete. */
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/storyboard.vtt", out_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_size, "cannot write %s", path);
        return ERR_IO;
    }
    fputs("WEBVTT\n\n", f);
    for (int i = 0; i < frames; i++) {
        double t0 = i * every, t1 = fmin((i + 1) * every, p->duration_s);
        fprintf(f, "%02d:%02d:%06.3f --> %02d:%02d:%06.3f\nstoryboard.jpg#xywh=%d,%d,%d,%d\n\n",
                (int)(t0 / 3600), (int)fmod(t0 / 60, 60), fmod(t0, 60), (int)(t1 / 3600),
                (int)fmod(t1 / 60, 60), fmod(t1, 60), (i % 10) * tile_w, (i / 10) * tile_h,
                tile_w, tile_h);
    }
    bool ok = fclose(f) == 0;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        snprintf(err, err_size, "cannot write %s", path);
        return ERR_IO;
    }
    return 0;
}

int ffmpeg_images(const char *input, const char *out_dir, const media_probe *p, char *err,
                  size_t err_size)
{
    int rc = ffmpeg_poster(input, out_dir, p, err, err_size);
    return rc < 0 ? rc : ffmpeg_storyboard(input, out_dir, p, NULL, NULL, err, err_size);
}

#define DUET_CELL                                                                                 \
    "scale=" DUET_W ":" DUET_CELL_H ":force_original_aspect_ratio=decrease:force_divisible_by=2,"  \
    "pad=" DUET_W ":" DUET_CELL_H ":(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30"
#define DUET_W "720"
#define DUET_CELL_H "640"

int ffmpeg_compose(const char *new_video, const media_probe *np, const char *source,
                   const media_probe *sp, bool stitch, double seconds, const char *out_path,
                   ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size)
{
    media_probe rendered = *np; /* the output's length, for the percentages */
    if (!np->has_video || !sp->has_video) {
        snprintf(err, err_size, "no video stream");
        return ERR_INVALID;
    }
    args a = {0};
    add_ffmpeg(&a);
    add(&a, "-i");
    add(&a, "%s", new_video);
    add(&a, "-i");
    add(&a, "%s", source);
    /* input 2: silence, for whichever side has no sound */
    add(&a, "-f");
    add(&a, "lavfi");
    add(&a, "-i");
    add(&a, "anullsrc=channel_layout=stereo:sample_rate=44100");
    const char *new_audio = np->has_audio ? "[0:a]" : "[2:a]";
    const char *src_audio = sp->has_audio ? "[1:a]" : "[2:a]";
    if (!stitch) {
        add(&a, "-filter_complex");
        /* a 9:16 canvas for vertical viewing: the new video on top, the source below, each
         * fitted into its half (two landscape videos side by side made a 32:9 strip) */
        add(&a,
            "[0:v]" DUET_CELL "[a];[1:v]" DUET_CELL "[b];"
            "[a][b]vstack=inputs=2:shortest=0[v];%saresample=44100[s]",
            new_audio);
        add(&a, "-map");
        add(&a, "[v]");
        add(&a, "-map");
        add(&a, "[s]");
        add(&a, "-t");
        add(&a, "%.3f", np->duration_s);
    } else {
        int w = np->display_width & ~1, h = np->display_height & ~1;
        double n = seconds > 5 ? 5 : seconds < 0.5 ? 0.5 : seconds;
        if (n > sp->duration_s)
            n = sp->duration_s;
        rendered.duration_s += n;
        add(&a, "-filter_complex");
        add(&a,
            "[1:v]trim=0:%.3f,setpts=PTS-STARTPTS,scale=%d:%d:force_original_aspect_ratio="
            "decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30[sv];"
            "%satrim=0:%.3f,asetpts=PTS-STARTPTS,aresample=44100,"
            "aformat=channel_layouts=stereo[sa];"
            "[0:v]scale=%d:%d,setsar=1,fps=30[nv];"
            "%satrim=0:%.3f,asetpts=PTS-STARTPTS,aresample=44100,"
            "aformat=channel_layouts=stereo[na];"
            "[sv][sa][nv][na]concat=n=2:v=1:a=1[v][s]",
            n, w, h, w, h, src_audio, n, w, h, new_audio, np->duration_s);
        add(&a, "-map");
        add(&a, "[v]");
        add(&a, "-map");
        add(&a, "[s]");
    }
    add(&a, "-c:v");
    add(&a, "libx264");
    add(&a, "-preset");
    add(&a, "veryfast");
    add(&a, "-pix_fmt");
    add(&a, "yuv420p");
    add(&a, "-c:a");
    add(&a, "aac");
    add(&a, "-progress");
    add(&a, "pipe:1");
    add(&a, "-nostats");
    add(&a, "%s", out_path);
    return run_encoder(&a, &rendered, progress, arg, "composing failed", err, err_size);
}

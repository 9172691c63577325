/* SPDX-License-Identifier: MIT
 *
 * The ffmpeg driver with the real ffmpeg: short videos made from lavfi sources (landscape with
 * audio, portrait without, a phone video with rotation metadata, a non-video and a corrupt file)
 * are probed, transcoded to an HLS ladder and turned into images; ffprobe then checks every
 * rendition's size, codec and duration, and the playlists are read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <stdbool.h>
#include "scratch.h"

#include "core/util.h"
#include "jobs/ffmpeg.h"

static char dir[] = "/tmp/sh-ffmpeg-XXXXXX";

static int setup(void **state)
{
    scratch_dir_make(dir);
    scratch_sh("cd %s && ffmpeg -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=25 "
               "-f lavfi -i sine=frequency=440 -t 5 -c:v libx264 -preset ultrafast -c:a aac "
               "-shortest land.mp4",
               dir);
    scratch_sh("cd %s && ffmpeg -loglevel error -f lavfi -i testsrc=size=360x640:rate=30 -t 3 "
               "-c:v libx264 -preset ultrafast portrait.mp4",
               dir);
    /* A phone video: stored 640x360 with a display matrix, displayed as 360x640 (ffmpeg 5.1
     * writes the matrix from the rotate tag only when stream-copying). */
    scratch_sh("cd %s && ffmpeg -loglevel error -f lavfi -i testsrc=size=640x360:rate=30 -t 2 "
               "-c:v libx264 -preset ultrafast flat.mp4 && ffmpeg -loglevel error -i flat.mp4 "
               "-c copy -metadata:s:v:0 rotate=90 rotated.mp4",
               dir);
    scratch_sh("cd %s && ffmpeg -loglevel error -f lavfi -i sine=frequency=300 -t 2 tone.wav", dir);
    scratch_sh("cd %s && head -c 20000 /dev/urandom > corrupt.mp4", dir);
    return 0;
}

static int teardown(void **state)
{
    scratch_dir_remove(dir);
    return 0;
}

/* ffprobe of one output file: "width height codec duration". */
static void probe_line(const char *path, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -show_entries stream=width,height,codec_name "
             "-show_entries format=duration -of csv=p=0 '%s' | tr ',\\n' '  '", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    pclose(f);
}

static bool progress_seen;
static bool on_progress(void *arg, int pct)
{
    assert_true(pct >= 0 && pct <= 100);
    progress_seen = true;
    return true;
}

static bool cancel_now(void *arg, int pct)
{
    return false;
}

static void transcode(const char *name, const char *out, media_probe *p)
{
    char in[512], od[512], err[512] = "";
    snprintf(in, sizeof in, "%s/%s", dir, name);
    snprintf(od, sizeof od, "%s/%s", dir, out);
    mkdir(od, 0750);
    assert_int_equal(ffmpeg_probe(in, p, err, sizeof err), 0);
    progress_seen = false;
    int rc = ffmpeg_transcode_hls(in, od, p, on_progress, NULL, err, sizeof err);
    if (rc)
        fail_msg("transcode %s: %s", name, err);
    rc = ffmpeg_images(in, od, p, err, sizeof err);
    if (rc)
        fail_msg("images %s: %s", name, err);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_landscape_ladder(void **state)
{
    media_probe p;
    transcode("land.mp4", "land", &p);
    assert_true(p.has_video && p.has_audio);
    assert_int_equal(p.display_width, 1280);
    assert_int_equal(p.display_height, 720);
    assert_true(fabs(p.duration_s - 5) < 0.2);
    assert_true(progress_seen);
    const char *want[][2] = {{"240p", "426 240"}, {"480p", "854 480"}, {"720p", "1280 720"}};
    for (int i = 0; i < 3; i++) {
        char path[600], line[256], expect[64];
        snprintf(path, sizeof path, "%s/land/%s/index.m3u8", dir, want[i][0]);
        probe_line(path, line, sizeof line);
        snprintf(expect, sizeof expect, "h264 %s", want[i][1]);
        if (!strstr(line, expect))
            fail_msg("%s: %s (want %s)", want[i][0], line, expect);
        /* "h264 W H DURATION ": the rendition lasts as long as the source */
        size_t len = strlen(line);
        while (len && line[len - 1] == ' ')
            line[--len] = '\0';
        double duration = atof(strrchr(line, ' ') + 1);
        if (fabs(duration - 5) > 0.3)
            fail_msg("%s lasts %f s", want[i][0], duration);
        const char *pl = slurp(path);
        assert_non_null(strstr(pl, "#EXT-X-PLAYLIST-TYPE:VOD"));
        assert_non_null(strstr(pl, "#EXT-X-ENDLIST"));
        assert_non_null(strstr(pl, "seg000.ts"));
    }
    char master[600];
    snprintf(master, sizeof master, "%s/land/master.m3u8", dir);
    const char *m = slurp(master);
    assert_non_null(strstr(m, "RESOLUTION=426x240"));
    assert_non_null(strstr(m, "RESOLUTION=1280x720"));
    assert_non_null(strstr(m, "BANDWIDTH="));
    assert_non_null(strstr(m, "CODECS=\"avc1."));
    assert_non_null(strstr(m, "mp4a.40.2"));
    assert_non_null(strstr(m, "240p/index.m3u8"));
    char img[600], line[256];
    snprintf(img, sizeof img, "%s/land/thumb_480.jpg", dir);
    probe_line(img, line, sizeof line);
    assert_non_null(strstr(line, "480 270"));
    snprintf(img, sizeof img, "%s/land/poster.jpg", dir);
    probe_line(img, line, sizeof line);
    assert_non_null(strstr(line, "720 406"));
    snprintf(img, sizeof img, "%s/land/storyboard.vtt", dir);
    const char *vtt = slurp(img);
    assert_non_null(strstr(vtt, "WEBVTT"));
    assert_non_null(strstr(vtt, "00:00:00.000 --> 00:00:01.000\nstoryboard.jpg#xywh=0,0,160,90"));
    assert_non_null(strstr(vtt, "storyboard.jpg#xywh=640,0,160,90"));
}

static void test_portrait_and_rotated(void **state)
{
    media_probe p;
    transcode("portrait.mp4", "portrait", &p);
    assert_false(p.has_audio);
    hls_rendition r[FFMPEG_MAX_RENDITIONS];
    /* 360 wide: 240p, and the source's own 360 as the top rung (none above the source) */
    assert_int_equal(ffmpeg_ladder(&p, r), 2);
    char path[600], line[256];
    snprintf(path, sizeof path, "%s/portrait/240p/index.m3u8", dir);
    probe_line(path, line, sizeof line);
    if (!strstr(line, "h264 240 426"))
        fail_msg("portrait: %s", line);
    snprintf(path, sizeof path, "%s/portrait/360p/index.m3u8", dir);
    probe_line(path, line, sizeof line);
    if (!strstr(line, "h264 360 640"))
        fail_msg("portrait 360p: %s", line);

    transcode("rotated.mp4", "rotated", &p);
    assert_int_equal(p.width, 640);
    assert_int_equal(p.height, 360);
    assert_true(p.rotation == 90 || p.rotation == 270);
    assert_int_equal(p.display_width, 360);
    assert_int_equal(p.display_height, 640);
    snprintf(path, sizeof path, "%s/rotated/240p/index.m3u8", dir);
    probe_line(path, line, sizeof line);
    if (!strstr(line, "h264 240 426"))
        fail_msg("rotated output must be upright portrait: %s", line);
}

/* The ladder alone, for sizes between, on and under the rungs. */
static void test_ladder_rungs(void **state)
{
    static const struct {
        int w, h, n;
        const char *names;
    } cases[] = {
        {640, 360, 2, "240p 360p"},
        {360, 640, 2, "240p 360p"},
        {1280, 720, 3, "240p 480p 720p"},
        {1920, 1080, 3, "240p 480p 720p"},
        {854, 480, 2, "240p 480p"},
        {1024, 576, 3, "240p 480p 576p"},
        {320, 180, 1, "180p"},
        {426, 240, 1, "240p"},
        {641, 361, 2, "240p 360p"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        media_probe p = {.display_width = cases[i].w, .display_height = cases[i].h};
        hls_rendition r[FFMPEG_MAX_RENDITIONS];
        int n = ffmpeg_ladder(&p, r);
        char names[64] = "";
        for (int k = 0; k < n; k++) {
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? " " : "",
                     r[k].dir);
            assert_true(r[k].width % 2 == 0 && r[k].height % 2 == 0);
            if (k > 0)
                assert_true(r[k].video_kbps > r[k - 1].video_kbps);
        }
        if (n != cases[i].n || strcmp(names, cases[i].names) != 0)
            fail_msg("%dx%d: %s (want %s)", cases[i].w, cases[i].h, names, cases[i].names);
    }
    (void)state;
}

static void test_bad_inputs(void **state)
{
    media_probe p;
    char in[512], err[512] = "";
    snprintf(in, sizeof in, "%s/corrupt.mp4", dir);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), ERR_INVALID);
    assert_non_null(strstr(err, "not a readable media file"));
    snprintf(in, sizeof in, "%s/tone.wav", dir);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), 0);
    assert_false(p.has_video);
    assert_true(p.has_audio);
    assert_int_equal(ffmpeg_transcode_hls(in, dir, &p, NULL, NULL, err, sizeof err), ERR_INVALID);
    assert_string_equal(err, "no video stream");
    snprintf(in, sizeof in, "%s/nothing-here.mp4", dir);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), ERR_INVALID);
    /* A cancelled transcode stops the ffmpeg process and says so. */
    snprintf(in, sizeof in, "%s/land.mp4", dir);
    char od[512];
    snprintf(od, sizeof od, "%s/cancelled", dir);
    mkdir(od, 0750);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), 0);
    assert_int_equal(ffmpeg_transcode_hls(in, od, &p, cancel_now, NULL, err, sizeof err),
                     ERR_CANCELLED);
}

/* Progressive publishing's pieces: which sources are served as they are, the cut itself, one
 * rung encoded alone, and the master playlist written from the renditions done. */
static void test_remux_and_rungs(void **state)
{
    char in[512], od[600], path[700], line[256], err[512] = "";
    media_probe p;
    snprintf(in, sizeof in, "%s/land.mp4", dir);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), 0);
    assert_string_equal(p.pix_fmt, "yuv420p");
    assert_true(p.video_level > 0);
    assert_true(ffmpeg_can_remux(&p)); /* x264's defaults: High, yuv420p, upright */
    media_probe odd = p;
    odd.rotation = 90; /* MPEG-TS would drop the rotation */
    assert_false(ffmpeg_can_remux(&odd));
    odd = p;
    snprintf(odd.pix_fmt, sizeof odd.pix_fmt, "yuv444p");
    assert_false(ffmpeg_can_remux(&odd));
    odd = p;
    snprintf(odd.video_codec, sizeof odd.video_codec, "hevc");
    assert_false(ffmpeg_can_remux(&odd));
    odd = p;
    odd.bit_rate = (FFMPEG_REMUX_MAX_KBPS + 1) * 1000LL;
    assert_false(ffmpeg_can_remux(&odd));

    hls_rendition r[2];
    ffmpeg_source_rendition(&p, &r[1]);
    assert_string_equal(r[1].dir, "720p");
    snprintf(od, sizeof od, "%s/progressive/720p", dir);
    assert_int_equal(make_dirs(od), 0);
    if (ffmpeg_remux_hls(in, od, &p, NULL, NULL, err, sizeof err))
        fail_msg("remux: %s", err);
    snprintf(path, sizeof path, "%s/index.m3u8", od);
    probe_line(path, line, sizeof line);
    if (!strstr(line, "h264 1280 720"))
        fail_msg("the copy keeps the source's picture: %s", line);
    assert_non_null(strstr(slurp(path), "#EXT-X-ENDLIST"));

    hls_rendition ladder[FFMPEG_MAX_RENDITIONS];
    assert_int_equal(ffmpeg_ladder(&p, ladder), 3);
    r[0] = ladder[0];
    snprintf(od, sizeof od, "%s/progressive/240p", dir);
    assert_int_equal(make_dirs(od), 0);
    if (ffmpeg_encode_rendition(in, od, &p, &r[0], "ultrafast", NULL, NULL, err, sizeof err))
        fail_msg("encode: %s", err);
    snprintf(path, sizeof path, "%s/index.m3u8", od);
    probe_line(path, line, sizeof line);
    if (!strstr(line, "h264 426 240"))
        fail_msg("240p: %s", line);

    snprintf(od, sizeof od, "%s/progressive", dir);
    assert_int_equal(ffmpeg_write_master(od, r, 2), 0);
    snprintf(path, sizeof path, "%s/master.m3u8", od);
    const char *master = slurp(path);
    const char *small = strstr(master, "240p/index.m3u8"), *big = strstr(master, "720p/index.m3u8");
    assert_true(small && big && small < big);
    assert_non_null(strstr(master, "RESOLUTION=1280x720"));
}

/* The pid of a process other than us whose command line mentions needle, or 0. */
static pid_t process_mentioning(const char *needle)
{
    DIR *proc = opendir("/proc");
    assert_non_null(proc);
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(proc))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t k = 0; k < n; k++)
            cmd[k] = cmd[k] ? cmd[k] : ' ';
        cmd[n] = '\0';
        if (strstr(cmd, needle) && strstr(cmd, "ffmpeg"))
            found = pid;
    }
    closedir(proc);
    return found;
}

/* Gone, or a zombie nobody reaped yet: either way it runs no more. */
static bool process_ended(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A server killed with -9 takes its encoder with it (PR_SET_PDEATHSIG): an orphan would keep
 * writing into the rendition the restarted server resumes. The encoder is stopped (SIGSTOP)
 * before the kill, so it cannot die of a broken pipe instead: only the death signal ends it. */
static void test_an_encoder_dies_with_its_server(void **state)
{
    (void)state;
    char in[512], od[600], err[512] = "";
    media_probe p;
    snprintf(in, sizeof in, "%s/land.mp4", dir);
    snprintf(od, sizeof od, "%s/orphan-check", dir);
    assert_int_equal(mkdir(od, 0700), 0);
    assert_int_equal(ffmpeg_probe(in, &p, err, sizeof err), 0);
    hls_rendition r[FFMPEG_MAX_RENDITIONS];
    assert_true(ffmpeg_ladder(&p, r) > 0);
    pid_t server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        ffmpeg_encode_rendition(in, od, &p, &r[0], "veryslow", NULL, NULL, err, sizeof err);
        _exit(0);
    }
    pid_t encoder = 0;
    for (int i = 0; i < 2000 && !encoder; i++) { /* as long as it takes to start, within reason */
        encoder = process_mentioning(od);
        if (!encoder)
            pause_ms(10);
    }
    assert_true(encoder > 0);
    assert_int_equal(kill(encoder, SIGSTOP), 0);
    assert_int_equal(kill(server, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(server, &status, 0), server);
    bool ended = false;
    for (int i = 0; i < 2000 && !(ended = process_ended(encoder)); i++)
        pause_ms(10);
    if (!ended)
        kill(encoder, SIGKILL); /* leave nothing behind, then fail */
    assert_true(ended);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_landscape_ladder),
        cmocka_unit_test(test_portrait_and_rotated),
        cmocka_unit_test(test_ladder_rungs),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_remux_and_rungs),
        cmocka_unit_test(test_an_encoder_dies_with_its_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

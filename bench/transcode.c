/* SPDX-License-Identifier: MIT
 *
 * Ladder benchmark (issue 4): runs the server's own ffmpeg driver (jobs/ffmpeg.c) on a source
 * file and reports wall time, the CPU time of the ffmpeg processes (user + system, from
 * getrusage of the children) and the realtime factor (source duration / wall time). With
 * --separate it instead runs one ffmpeg per rendition with the same encoder settings, which is
 * what the single-process ladder is measured against.
 *   build/streamhub-transcode-bench SOURCE OUT_DIR [--separate]
 */
#include "core/util.h"
#include "jobs/ffmpeg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double children_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One rendition on its own: the same encoder settings as the ladder, one output. */
static int run_one(const char *src, const char *out_dir, const hls_rendition *r, bool audio)
{
    char dir[4200], scale[64], rate[16], maxrate[16], bufsize[16], seg[4300], playlist[4300];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, r->dir);
    mkdir(dir, 0750);
    snprintf(scale, sizeof scale, "scale=%d:%d,setsar=1", r->width, r->height);
    snprintf(rate, sizeof rate, "%dk", r->video_kbps);
    snprintf(maxrate, sizeof maxrate, "%dk", r->video_kbps * 3 / 2);
    snprintf(bufsize, sizeof bufsize, "%dk", r->video_kbps * 2);
    snprintf(seg, sizeof seg, "%s/seg%%03d.ts", dir);
    snprintf(playlist, sizeof playlist, "%s/index.m3u8", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[64];
        int n = 0;
        char *fixed[] = {"ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", (char *)src,
                         "-vf", scale, "-c:v", "libx264", "-preset", "veryfast", "-profile:v",
                         "main", "-pix_fmt", "yuv420p", "-sc_threshold", "0",
                         "-force_key_frames", "expr:gte(t,n_forced*4)", "-b:v", rate,
                         "-maxrate", maxrate, "-bufsize", bufsize, NULL};
        for (char **a = fixed; *a; a++)
            argv[n++] = *a;
        if (audio) {
            argv[n++] = "-c:a";
            argv[n++] = "aac";
            argv[n++] = "-b:a";
            argv[n++] = "128k";
            argv[n++] = "-ac";
            argv[n++] = "2";
        } else {
            argv[n++] = "-an";
        }
        char *tail[] = {"-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
                        "-hls_segment_filename", seg, playlist, NULL};
        for (char **a = tail; *a; a++)
            argv[n++] = *a;
        argv[n] = NULL;
        execvp("ffmpeg", argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE OUT_DIR [--separate]\n", argv[0]);
        return 2;
    }
    bool separate = argc > 3 && !strcmp(argv[3], "--separate");
    char err[512];
    media_probe p;
    if (ffmpeg_probe(argv[1], &p, err, sizeof err) < 0) {
        fprintf(stderr, "probe: %s\n", err);
        return 1;
    }
    mkdir(argv[2], 0750);
    double t0 = now_s(), c0 = children_cpu_s();
    int rc = 0;
    if (separate) {
        hls_rendition r[FFMPEG_MAX_RENDITIONS];
        int n = ffmpeg_ladder(&p, r);
        for (int i = 0; i < n && rc == 0; i++)
            rc = run_one(argv[1], argv[2], &r[i], p.has_audio);
    } else {
        rc = ffmpeg_transcode_hls(argv[1], argv[2], &p, NULL, NULL, err, sizeof err);
    }
    double wall = now_s() - t0, cpu = children_cpu_s() - c0;
    if (rc < 0) {
        fprintf(stderr, "transcode failed: %s\n", err);
        return 1;
    }
    printf("%s: source %.1f s %dx%d; wall %.1f s; cpu %.1f s; realtime x%.2f\n",
           separate ? "three separate runs" : "one-process ladder", p.duration_s,
           p.display_width, p.display_height, wall, cpu, p.duration_s / wall);
    return 0;
}

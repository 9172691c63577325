/* SPDX-License-Identifier: MIT
 *
 * The ffmpeg driver: probing a file with ffprobe and turning a video into an HLS ladder with one
 * ffmpeg process (decode once, encode every rendition), plus a poster, thumbnails and a scrubbing
 * storyboard. ffmpeg and ffprobe are separate processes (posix_spawn, no shell), so a crash or a
 * hostile file cannot take the server down, and a job can be killed and retried.
 *
 * Renditions are named by their short side (240p, 480p, 720p), so a portrait phone video gets
 * 240x426 ... 720x1280 and a landscape one 426x240 ... 1280x720; none is made above the source's
 * short side; a source between rungs gets its own size as the top rung (a 360p source gets 240p
 * and 360p), and a source smaller than 240p keeps its size.
 * Rotation metadata is applied (ffmpeg autorotates), so the output is upright. Keyframes are
 * forced every 4 s in every rendition, so 4-second segments line up across the ladder and players
 * can switch at any segment boundary.
 */
#ifndef STREAMHUB_JOBS_FFMPEG_H
#define STREAMHUB_JOBS_FFMPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct media_probe {
    char format[64];      /* container, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    double duration_s;
    int64_t bit_rate;
    bool has_video, has_audio;
    char video_codec[32], audio_codec[32];
    int width, height; /* as stored */
    int rotation;      /* degrees clockwise to display: 0, 90, 180, 270 */
    int display_width, display_height; /* after rotation */
    double fps;
} media_probe;

/* Runs ffprobe on path. A file ffprobe cannot read is ERR_INVALID with the reason in err. */
int ffmpeg_probe(const char *path, media_probe *out, char *err, size_t err_size);

#define FFMPEG_MAX_RENDITIONS 3
typedef struct hls_rendition {
    int short_side; /* 240, 480, 720 (or the source's when smaller than 240) */
    int width, height;
    int video_kbps, audio_kbps;
    char dir[8]; /* subdirectory of the output: "240p" ... */
} hls_rendition;

/* The ladder for a probed source: up to FFMPEG_MAX_RENDITIONS renditions, smallest first. */
int ffmpeg_ladder(const media_probe *p, hls_rendition *out);

/* Called with 0..100 as encoding advances; returning false cancels (ERR_CANCELLED). */
typedef bool (*ffmpeg_progress_fn)(void *arg, int percent);

/* Writes out_dir/master.m3u8, out_dir/<rendition>/index.m3u8 and segNNN.ts for each rendition of
 * the ladder. out_dir must exist. */
int ffmpeg_transcode_hls(const char *input, const char *out_dir, const media_probe *p,
                         ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

/* Writes out_dir/poster.jpg (720 px wide at most, from 10% into the video), thumb_160.jpg,
 * thumb_480.jpg, thumb_720.jpg, and a storyboard: storyboard.jpg (a 10-column sprite of 160 px
 * frames, one every interval) with storyboard.vtt mapping time ranges to sprite regions. */
int ffmpeg_images(const char *input, const char *out_dir, const media_probe *p, char *err,
                  size_t err_size);

/* Duets and stitches, rendered into out_path (an MP4 that then goes through the normal
 * processing). A duet is a 720x1280 (9:16) picture for vertical viewing: the new video in the top
 * half and the source in the bottom half, each fitted into its 720x640 cell (black bars where the
 * shapes differ), as long as the new video, with the new video's sound. A stitch plays the first
 * `seconds` (at most 5) of the source, then the new video, at the new video's size; a missing sound
 * track becomes silence. */
int ffmpeg_compose(const char *new_video, const media_probe *np, const char *source,
                   const media_probe *sp, bool stitch, double seconds, const char *out_path,
                   char *err, size_t err_size);

#endif

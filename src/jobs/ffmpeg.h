/* SPDX-License-Identifier: MIT
 *
 * The ffmpeg driver: probing a file with ffprobe and turning a video into an HLS ladder — with one
 * ffmpeg process (decode once, encode every rendition), or rendition by rendition for progressive
 * publishing (the source cut as it is, then one encode per rung) — plus a poster, thumbnails and
 * a scrubbing storyboard. ffmpeg and ffprobe are separate processes (posix_spawn, no shell), so a crash or a
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
    /* what decides whether the video can be served as it is (ffmpeg_can_remux) */
    char video_profile[32]; /* "High", "Main", "Constrained Baseline"... */
    int video_level;        /* H.264 level times 10 (41 = 4.1) */
    char pix_fmt[32];
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

/* Whether the source's video and sound can be cut into HLS segments as they are (-c copy), so a
 * first rendition exists in about the time it takes to read the file: H.264 of a profile every
 * player decodes (Constrained Baseline, Baseline, Main, High) at level 4.2 or below, yuv420p,
 * upright (MPEG-TS carries no rotation), short side at most 1080, at most FFMPEG_REMUX_MAX_KBPS
 * overall, with AAC sound or none. Whether keyframes come often enough is known only after the
 * cut (ffmpeg_remux_hls checks it). */
#define FFMPEG_REMUX_MAX_KBPS 12000
bool ffmpeg_can_remux(const media_probe *p);

/* The source's own picture as a rendition (what ffmpeg_remux_hls produces), named by its short
 * side like the ladder's. */
void ffmpeg_source_rendition(const media_probe *p, hls_rendition *out);

/* Called with 0..100 as encoding advances; returning false cancels (ERR_CANCELLED). */
typedef bool (*ffmpeg_progress_fn)(void *arg, int percent);

/* Writes out_dir/master.m3u8, out_dir/<rendition>/index.m3u8 and segNNN.ts for each rendition of
 * the ladder. out_dir must exist. */
int ffmpeg_transcode_hls(const char *input, const char *out_dir, const media_probe *p,
                         ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

/* Cuts the source as it is into out_dir/index.m3u8 and segNNN.ts (out_dir must exist). A
 * source whose keyframes lie further apart than FFMPEG_REMUX_MAX_SEGMENT_S gives segments too
 * long to start playback quickly: ERR_INVALID ("keyframes too sparse"), the caller encodes
 * instead. */
#define FFMPEG_REMUX_MAX_SEGMENT_S 8
int ffmpeg_remux_hls(const char *input, const char *out_dir, const media_probe *p,
                     ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

/* Encodes one rendition into out_dir/index.m3u8 and segNNN.ts (out_dir must exist) with the
 * given x264 preset ("veryfast" for the ladder, "ultrafast" for a first rendition that must be
 * out quickly), keyframes every 4 s as in the ladder. */
int ffmpeg_encode_rendition(const char *input, const char *out_dir, const media_probe *p,
                            const hls_rendition *r, const char *preset,
                            ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

/* Writes out_dir/master.m3u8 listing renditions r[0..n) (smallest first), through a temporary
 * file renamed into place, so a player never reads half a playlist. */
int ffmpeg_write_master(const char *out_dir, const hls_rendition *r, int n);

/* Writes out_dir/poster.jpg (720 px wide at most, from 10% into the video), thumb_160.jpg,
 * thumb_480.jpg, thumb_720.jpg, and a storyboard: storyboard.jpg (a 10-column sprite of 160 px
 * frames, one every interval) with storyboard.vtt mapping time ranges to sprite regions. */
int ffmpeg_images(const char *input, const char *out_dir, const media_probe *p, char *err,
                  size_t err_size);
/* The two halves of ffmpeg_images: the poster and thumbnails (a seek and one frame: fast, done
 * before a video becomes playable), and the storyboard (decodes the whole video: done after). */
int ffmpeg_poster(const char *input, const char *out_dir, const media_probe *p, char *err,
                  size_t err_size);
int ffmpeg_storyboard(const char *input, const char *out_dir, const media_probe *p,
                      ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

/* Duets and stitches, rendered into out_path (an MP4 that then goes through the normal
 * processing). A duet is a 720x1280 (9:16) picture for vertical viewing: the new video in the top
 * half and the source in the bottom half, each fitted into its 720x640 cell (black bars where the
 * shapes differ), as long as the new video, with the new video's sound. A stitch plays the first
 * `seconds` (at most 5) of the source, then the new video, at the new video's size; a missing sound
 * track becomes silence. progress (may be NULL) hears the render's percentage, and again every
 * second while it does not move. */
int ffmpeg_compose(const char *new_video, const media_probe *np, const char *source,
                   const media_probe *sp, bool stitch, double seconds, const char *out_path,
                   ffmpeg_progress_fn progress, void *arg, char *err, size_t err_size);

#endif

/* SPDX-License-Identifier: MIT
 *
 * Media rules. A file becomes a media record when it is complete (a finished upload, or an
 * operator's import): its type is sniffed from its bytes with libmagic (the client's claim is
 * ignored), empty and unsupported files are refused, and a "media.process" job is queued in the
 * same transaction. The job probes the file (ffprobe), refuses what cannot be played (no video
 * stream, zero or over-long duration), and for videos builds the HLS ladder, poster, thumbnails
 * and storyboard (jobs/ffmpeg.c), reporting percent as it goes: uploaded -> processing -> ready |
 * failed (with the reason). Only the owner sees a media record until it is attached to a post.
 */
#ifndef STREAMHUB_DOMAIN_MEDIA_H
#define STREAMHUB_DOMAIN_MEDIA_H

#include "domain/auth.h"
#include "jobs/queue.h"
#include "store/media.h"

#include <stdbool.h>

#define MEDIA_PROCESS_JOB "media.process"

/* Where media files live (DATA_DIR/media) and the longest video accepted, set at start-up. */
void media_configure(const char *data_dir, int64_t max_duration_s);
/* Takes the file at src_path (moved when move, else copied) as the owner's new media. */
int media_ingest(db *d, const store_user *owner, const char *src_path, const char *filename,
                 bool move, store_media *out, auth_error *err);
/* The viewer's own media (404 for anyone else's). */
int media_get_own(db *d, int64_t viewer, int64_t id, store_media *out, auth_error *err);
/* The job handler of MEDIA_PROCESS_JOB. */
job_result media_process_job(job_ctx *ctx, const store_job *job, char *err, size_t err_size);

#endif

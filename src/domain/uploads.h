/* SPDX-License-Identifier: MIT
 *
 * Resumable uploads (tus 1.0): creating an upload (length known or deferred, metadata), appending
 * a PATCH body at the exact offset (checked, optionally checksummed with sha1 or sha256, written
 * and fsynced before the offset moves), termination and expiry. A finished upload becomes a media
 * record (domain/media.c), which takes the file over. Uploads belong to their creator; anyone
 * else gets 404 as for a missing one.
 */
#ifndef STREAMHUB_DOMAIN_UPLOADS_H
#define STREAMHUB_DOMAIN_UPLOADS_H

#include "domain/errors.h"
#include "store/users.h"
#include "store/uploads.h"

#include <stdbool.h>
#include <stdint.h>

/* Creates DATA_DIR/uploads and sets the limits; call once at start-up. */
int uploads_configure(const char *data_dir, int64_t max_size, int64_t quota, int64_t expiry_s);
const char *uploads_dir(void);
int64_t uploads_max_size(void);

/* length < 0 with defer: Upload-Defer-Length. metadata is the Upload-Metadata header or NULL. */
int uploads_create(db *d, const store_user *me, int64_t length, bool defer, const char *metadata,
                   store_upload *out, domain_error *err);
/* The caller's upload; 404 upload_not_found, 410 upload_expired. */
int uploads_get_own(db *d, int64_t owner, int64_t id, store_upload *out, domain_error *err);
/* Appends size bytes of body_fd (from its start) at offset. cut: the body ended early (the
 * client left), and what arrived is kept the same way, unless it carried a checksum, which a
 * prefix cannot match (460 checksum_unverifiable, nothing kept). checksum is the Upload-Checksum
 * header or NULL; length the Upload-Length header of a deferred upload (-1 when absent). 409 on a
 * wrong offset or a concurrent PATCH, 460 checksum_mismatch (nothing written), 413 past the
 * length, 410 for a finished or expired upload. When the last byte arrives the upload becomes
 * media; out->media_id says which. */
int uploads_append(db *d, const store_user *me, int64_t id, int64_t offset, int body_fd,
                   uint64_t size, bool cut, const char *checksum, int64_t length, store_upload *out,
                   domain_error *err);
int uploads_terminate(db *d, int64_t owner, int64_t id, domain_error *err);
/* Removes expired unfinished uploads and their files; returns how many. */
int uploads_expire(db *d, int64_t now);

#endif

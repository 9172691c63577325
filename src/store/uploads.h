/* SPDX-License-Identifier: MIT
 *
 * Resumable upload records (tus). The offset only moves after the bytes are on disk (fsync), and
 * it moves with a compare-and-set on the old offset, so two PATCH requests racing for the same
 * upload cannot both append.
 */
#ifndef STREAMHUB_STORE_UPLOADS_H
#define STREAMHUB_STORE_UPLOADS_H

#include "store/db.h"

#include <stdint.h>

typedef struct store_upload {
    int64_t id;
    int64_t owner_id;
    int64_t length; /* -1 while deferred */
    int64_t offset;
    char metadata[2048]; /* the Upload-Metadata header as sent */
    char filename[256];
    char state[16]; /* uploading | complete */
    int64_t media_id;
    int64_t created_at, expires_at;
} store_upload;

int store_upload_insert(db *d, const store_upload *u);
int store_upload_get(db *d, int64_t id, store_upload *out);
/* Moves the offset from expected to offset (and sets a deferred length when length >= 0);
 * ERR_CONFLICT when another request moved it first. */
int store_upload_advance(db *d, int64_t id, int64_t expected, int64_t offset, int64_t length,
                         int64_t expires_at);
int store_upload_complete(db *d, int64_t id, int64_t media_id);
int store_upload_delete(db *d, int64_t id);
/* Bytes held by the owner's unfinished uploads (declared lengths, or offsets when deferred). */
int64_t store_upload_pending_bytes(db *d, int64_t owner_id);
/* Ids of up to max unfinished uploads that expired before now. */
int store_upload_expired(db *d, int64_t now, int64_t *ids, int max);

#endif

/* SPDX-License-Identifier: MIT
 *
 * Media records: an uploaded file's owner, sniffed type, size, processing state (uploaded ->
 * processing -> ready | failed) with percent, the probe (JSON) and the renditions (JSON).
 */
#ifndef STREAMHUB_STORE_MEDIA_H
#define STREAMHUB_STORE_MEDIA_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store_media {
    int64_t id;
    int64_t owner_id;
    char kind[16];  /* video | image | audio | other */
    char mime[96];  /* sniffed, not the client's claim */
    char filename[256];
    int64_t size;
    char state[16]; /* uploaded | composing | processing | ready | failed */
    int64_t progress;
    char error[512];
    char *probe;      /* JSON or NULL; owned */
    char *renditions; /* JSON or NULL; owned */
    int64_t created_at, updated_at;
} store_media;

int store_media_insert(db *d, const store_media *m);
int store_media_get(db *d, int64_t id, store_media *out);
/* Up to max of the owner's media with ids below before_id (0: from the newest), newest first;
 * posted[i]: a live post shows out[i]. Returns how many (free each), or a negative ERR_*. */
int store_media_list(db *d, int64_t owner_id, int64_t before_id, int max, store_media *out,
                     bool *posted);
/* Deletes the record and clears it as its owner's avatar or cover (caller's transaction). */
int store_media_delete(db *d, int64_t id);
/* The owner's id, 0 when there is no such media, or a negative ERR_*. */
int64_t store_media_owner(db *d, int64_t id);
/* Whether a live post uses the media. */
bool store_media_in_use(db *d, int64_t id);
/* Whether the media is a live duet's or stitch's rendering: it then holds the source's video
 * too and may be shown only through that post (see posts_can_view). */
bool store_media_composed(db *d, int64_t id);
void store_media_free(store_media *m);
int store_media_set_size(db *d, int64_t id, int64_t size);
/* State changes; NULL strings leave a column as it is. */
int store_media_set_state(db *d, int64_t id, const char *state, int64_t progress,
                          const char *error, const char *probe, const char *renditions,
                          int64_t now);

#endif

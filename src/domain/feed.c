/* SPDX-License-Identifier: MIT
 *
 * Home feed: see feed.h. Candidates come in batches; since the filter can drop some, the loop
 * reads more batches (bounded) until the page is full or the candidates run out, and the cursor
 * is the last candidate examined, so no post is skipped or repeated between pages.
 */
#include "domain/feed.h"

#include "core/util.h"
#include "domain/posts.h"

#include <stdlib.h>

#define MAX_BATCHES 4

int feed_home(db *d, int64_t viewer, int64_t cursor, int limit, feed_item *out, int64_t *next)
{
    int batch = limit * 2;
    store_post *cand = xcalloc((size_t)batch, sizeof *cand);
    int n = 0, rc = 0;
    *next = 0;
    for (int round = 0; round < MAX_BATCHES && n < limit; round++) {
        int got = store_post_home_candidates(d, viewer, cursor, cand, batch);
        if (got < 0) {
            rc = got;
            break;
        }
        int i = 0;
        for (; i < got && n < limit; i++) {
            cursor = cand[i].id;
            store_user author;
            if (store_user_by_id(d, cand[i].author_id, &author) < 0)
                continue;
            if (!posts_can_view(d, viewer, &author, &cand[i]))
                continue;
            out[n].post = cand[i];
            out[n].author = author;
            n++;
        }
        /* More may follow when this batch was full or we stopped inside it. */
        *next = (got == batch || i < got) ? cursor : 0;
        if (got < batch)
            break;
    }
    free(cand);
    if (rc < 0)
        return rc;
    /* Order step: candidates arrive newest first, which is the order for now; the ranker of
     * the recommendations work reorders out[0..n) here. */
    return n;
}

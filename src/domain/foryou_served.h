/* SPDX-License-Identifier: MIT
 *
 * For You's served sets (domain/foryou.h) kept in memory per API node, with the database as the
 * source of truth. Every page's write adds the page to for_you_served and bumps the set's
 * version (for_you_served_heads) in one transaction; a node trusts its copy of a set only while
 * the version it holds is the database's (one primary-key read per page), and reads the set
 * again otherwise: after a page another node served, a refresh anywhere, or when it has none.
 * So a session's pages never repeat a post whichever nodes serve them, exactly as when every
 * page read the set.
 *
 * A signed-in user's set covers all their sessions (what was served in the session, plus what
 * was served to them in the last FORYOU_SERVED_DAYS): one copy per user, which knows the rows
 * of the sessions it was read for or that started on this node since; a page of another
 * session reads the set again. An anonymous session's set is its own. A copy is dropped after
 * FORYOU_SERVED_KEEP_MS even if still current, so rows that age out of the window are not left
 * out for long (until then they are left out a little longer than the window says: a page can
 * only be narrower, never repeat).
 */
#ifndef STREAMHUB_DOMAIN_FORYOU_SERVED_H
#define STREAMHUB_DOMAIN_FORYOU_SERVED_H

#include "store/db.h"

#include <stdbool.h>
#include <stdint.h>

#define FORYOU_SERVED_COPIES 1024          /* sets kept per node (direct-mapped) */
#define FORYOU_SERVED_KEEP_MS (10 * 60000) /* a copy is read again after this long */

/* The posts not to serve again on a page of session for viewer (0 = anonymous), at most max,
 * into out: those served in the session and, signed in, to the viewer since since_ms. fresh:
 * the session was started by this request (nothing was served in it yet). Returns how many or
 * a negative ERR_*. */
int foryou_served_get(db *d, int64_t viewer, int64_t session, bool fresh, int64_t since_ms,
                      int64_t *out, int max);
/* Writes what a page served, in one transaction of its own (rows, version, purge), and keeps
 * this node's copy current when nothing else changed the set meanwhile. fresh as above. Also
 * forgets, now and then, what was served before the window. */
int foryou_served_record(db *d, int64_t viewer, int64_t session, bool fresh, const int64_t *ids,
                         int n, int64_t now);
/* Forgets everything served to viewer (POST /feed/refresh), on every node. */
int foryou_served_forget(db *d, int64_t viewer);
/* Drops this node's copies (tests). */
void foryou_served_reset(void);

#endif

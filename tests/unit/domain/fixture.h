/* SPDX-License-Identifier: MIT
 *
 * The domain unit tests' fixture: one in-memory SQLite database ("sqlite::memory:", a single
 * connection, which is all a domain function takes) with every migration applied, and helpers
 * that build users, follows, blocks, mutes, circles and posts through the domain functions
 * (graph_*, circles_*, posts_*), or through store/ where the domain path needs more than the
 * test wants (a follow of a private account without its request round trip). Each helper
 * asserts that it worked, so a test reads as the situation it sets up.
 */
#ifndef STREAMHUB_TESTS_UNIT_DOMAIN_FIXTURE_H
#define STREAMHUB_TESTS_UNIT_DOMAIN_FIXTURE_H

#include "store/db.h"
#include "store/posts.h"
#include "store/users.h"

#include <stdbool.h>
#include <stdint.h>

/* The database of the running test (fx_setup/fx_teardown, for cmocka's setup and teardown). */
extern db *fx_db;
int fx_setup(void **state);
int fx_teardown(void **state);
/* The same on a SQLite file, for code that opens connections of its own (a batching writer):
 * fx_url names it; fx_teardown_file removes it. */
extern char fx_url[];
int fx_setup_file(void **state);
int fx_teardown_file(void **state);

/* A public or private account with the column defaults, read back from the database. */
store_user fx_user(const char *handle, bool is_private);
/* Reads the user again (counters, privacy). */
store_user fx_reload(const store_user *u);
/* A follow edge follower -> followee, written directly (no request even for a private account). */
void fx_follow(const store_user *follower, const store_user *followee);
void fx_block(const store_user *blocker, const store_user *blocked);
void fx_mute(const store_user *muter, const store_user *muted);
/* One of owner's circles holding the given members (n of them). */
int64_t fx_circle(const store_user *owner, const char *name, const store_user *const *members,
                  int n);
/* A text post through posts_create; circle_id only with visibility "circle". */
store_post fx_post(const store_user *author, const char *visibility, int64_t circle_id);
/* A duet (or stitch) of source through posts_create; returns posts_create's code, out filled. */
int fx_derived(const store_user *author, const char *kind, int64_t source, const char *visibility,
               store_post *out);

#endif

/* SPDX-License-Identifier: MIT
 *
 * The interest graph of For You (docs/discovery.md): per user, weights of topics (hashtags and
 * caption terms, folded to one lowercase word each), content types, engagement styles, hours of
 * activity and creators, each decaying with a half-life of INTERESTS_HALF_LIFE_DAYS. Signals
 * arrive as domain events (interests_on_event, an after-commit consumer wired in app.c) and as
 * the user's own "not interested" marks; each signal writes a bounded number of rows (at most
 * INTERESTS_TOPICS_PER_POST topics plus four others) in one transaction.
 *
 * The math (decay, signal weights, topics of a caption) is pure so it is unit tested alone.
 */
#ifndef STREAMHUB_DOMAIN_INTERESTS_H
#define STREAMHUB_DOMAIN_INTERESTS_H

#include "domain/errors.h"
#include "domain/events.h"
#include "store/interests.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTERESTS_HALF_LIFE_DAYS 7
#define INTERESTS_HALF_LIFE_MS ((int64_t)INTERESTS_HALF_LIFE_DAYS * 24 * 3600 * 1000)
/* Topics taken from one post: its first hashtags, then caption terms to fill up. */
#define INTERESTS_TOPICS_PER_POST 6
#define INTERESTS_TERMS_PER_POST 3
/* Rows kept per user and kind (the weakest go first). A signal lets a kind grow a quarter past
 * that before trimming it back, so the sort a trim costs is paid once per that many new rows
 * instead of for each (docs/discovery.md). */
#define INTERESTS_TOPICS_KEPT 200
#define INTERESTS_CREATORS_KEPT 100
#define INTERESTS_TRIM_SLACK(kept) ((kept) / 4)
/* The batching writer checks a kind every this many new rows (so a kind may pass kept + slack
 * by fewer than this); without the writer, after each new row. */
#define INTERESTS_PROBE_EVERY 8
/* PUT /users/me/interests: at most this many topics, each seeded with this weight. */
#define INTERESTS_SEED_MAX 20
#define INTERESTS_SEED_WEIGHT 3.0
/* A view shorter than this that was not completed is a skip. */
#define INTERESTS_SKIP_MS 2000

/* The documented signal weights (docs/discovery.md, "Signals"). */
typedef enum interests_signal {
    SIGNAL_SKIP,
    SIGNAL_VIEW,
    SIGNAL_COMPLETED,
    SIGNAL_REPLAY,
    SIGNAL_LIKE,
    SIGNAL_COMMENT,
    SIGNAL_SAVE,
    SIGNAL_SHARE,
    SIGNAL_FOLLOW,
    SIGNAL_NOT_INTERESTED,
    SIGNAL_NOT_INTERESTED_CREATOR,
    SIGNAL_NOT_INTERESTED_TOPIC,
    SIGNAL__COUNT
} interests_signal;
double interests_signal_weight(interests_signal s);
/* The signal a view carries: skip, plain view, completed, or replay (a completed view that
 * did not count, i.e. the viewer had seen the post already). */
interests_signal interests_view_signal(int64_t watch_ms, bool completed, bool counted);

/* weight as of age_ms later. */
double interests_decay(double weight, int64_t age_ms, int64_t half_life_ms);

/* The topics of a caption: its hashtags (weight 1) then words of at least four letters that
 * are not common words (weight 0.5), lowercase, de-duplicated, at most max. */
typedef struct interests_topic {
    char name[STORE_INTEREST_ITEM_BYTES];
    double share; /* how much of a signal the topic receives */
} interests_topic;
int interests_caption_topics(const char *caption, interests_topic *out, int max);

/* After-commit consumer of views, likes, comments, saves, shares and follows. */
int interests_on_event(db *d, const domain_event *ev, void *arg);
/* The batching writer the consumer queues signals for (one per process; app.c starts it with
 * the other writers). Without it signals are dropped, and counted. */
#define INTERESTS_FLUSH_MS 200
#define INTERESTS_QUEUE_CAPACITY 16384
#define INTERESTS_SIGNALS_PER_TX 16 /* a few ms of the writer lock at most */
int interests_start(const char *database_url, char *err, size_t err_size);
void interests_stop(void);
uint64_t interests_signals_queued(void);  /* accepted by the queue (metrics) */
uint64_t interests_signals_written(void); /* applied by the writer (metrics) */
uint64_t interests_signals_dropped(void); /* lost to a full queue or a failed batch */

/* One weight as the profile shows it (decayed to now). */
typedef struct interests_weight {
    char item[STORE_INTEREST_ITEM_BYTES];
    double weight;
} interests_weight;

#define INTERESTS_SHOWN_TOPICS 50
#define INTERESTS_SHOWN_CREATORS 20
typedef struct interests_profile {
    int n_topics, n_types, n_styles, n_hours, n_creators;
    interests_weight topics[INTERESTS_SHOWN_TOPICS];
    interests_weight types[8];
    interests_weight styles[8];
    interests_weight hours[24];
    interests_weight creators[INTERESTS_SHOWN_CREATORS]; /* item: the creator's id */
} interests_profile;

/* The user's profile, every list strongest first. */
int interests_profile_get(db *d, int64_t user_id, interests_profile *out, domain_error *err);
/* Onboarding: adds INTERESTS_SEED_WEIGHT to each topic (hashtag-like names; with or without
 * '#'). 422 invalid_topic for one that is not a single tag. */
int interests_seed(db *d, int64_t user_id, const char *const *topics, int n, domain_error *err);
/* Forgets the whole profile (the "not interested" marks stay). */
int interests_reset(db *d, int64_t user_id, domain_error *err);

/* "Not interested" in a post (the viewer must be able to see it), a creator (by handle) or a
 * hashtag (a tag); on = false undoes it. The mark hides the target from For You, explore,
 * suggested and similar, and the profile takes the negative signal (given back on undo). */
int interests_not_interested_post(db *d, int64_t user_id, int64_t post_id, bool on,
                                  domain_error *err);
int interests_not_interested_creator(db *d, int64_t user_id, const char *handle, bool on,
                                     domain_error *err);
int interests_not_interested_hashtag(db *d, int64_t user_id, const char *tag, bool on,
                                     domain_error *err);

/* Internal to the discovery modules: the user's topic or creator weights decayed to now,
 * strongest first. */
int interests_load(db *d, int64_t user_id, const char *kind, interests_weight *out, int max);

#endif

/* SPDX-License-Identifier: MIT
 *
 * Presence visibility and room rules: see live.h.
 */
#include "domain/live.h"

#include "core/util.h"
#include "domain/auth.h"
#include "domain/errors.h"
#include "store/graph.h"
#include "store/users.h"

#include <stdio.h>
#include <string.h>

bool live_room_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > LIVE_ROOM_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* Code points of valid UTF-8, or -1. jansson already guarantees valid UTF-8 for strings it
 * parsed; this is the count, with a check for callers that did not come through it. */
static long utf8_chars(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        int len = *p < 0x80         ? 1
                  : (*p >> 5) == 6  ? 2
                  : (*p >> 4) == 14 ? 3
                  : (*p >> 3) == 30 ? 4
                                    : 0;
        if (!len)
            return -1;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return -1;
        p += len;
    }
    return n;
}

int live_room_text_check(const char *text, domain_error *err)
{
    if (!text || !*text)
        return domain_invalid(err, "text", "required");
    long n = utf8_chars(text);
    if (n < 0)
        return domain_invalid(err, "text", "invalid_utf8");
    if (n > LIVE_ROOM_TEXT_MAX)
        return domain_invalid_bounds(err, "text", "too_long", -1, LIVE_ROOM_TEXT_MAX);
    return 0;
}

bool live_presence_visible(db *d, int64_t viewer, int64_t target)
{
    if (viewer == target)
        return true;
    return store_follows(d, viewer, target) && store_follows(d, target, viewer) &&
           !store_blocked_either(d, viewer, target);
}

bool live_presence_watchable(db *d, int64_t viewer, int64_t target)
{
    store_user u;
    return store_user_by_id(d, target, &u) == 0 && live_presence_visible(d, viewer, target);
}

void live_presence_get(db *d, int64_t user_id, store_presence *out)
{
    if (store_presence_get(d, user_id, out) < 0) {
        memset(out, 0, sizeof *out);
        out->user_id = user_id;
        snprintf(out->status, sizeof out->status, "offline");
    }
}

static live_change_fn change_sink;

void live_on_change(live_change_fn fn)
{
    change_sink = fn;
}

static void announce(const live_change *change)
{
    if (change_sink)
        change_sink(change);
}

void live_presence_end(int64_t a, int64_t b)
{
    announce(&(live_change){.kind = LIVE_PRESENCE_DROP, .user_id = a, .other_id = b});
}

int live_on_event(db *d, const domain_event *ev, void *arg)
{
    (void)d;
    (void)arg;
    /* neither may watch the other's presence any more: open subscriptions end now */
    if (ev->type == EV_BLOCKED)
        live_presence_end(ev->actor, ev->user_id);
    return 0;
}

/* The gate of every moderator tool, in the order REST has always answered: the caller's role
 * (403) before the room's name (404). */
static int moderate(const store_user *actor, const char *room, domain_error *err)
{
    int rc = auth_require_role(actor, "moderator", err);
    if (rc < 0)
        return rc;
    if (!live_room_name_valid(room))
        return domain_fail(err, ERR_NOT_FOUND, "room_not_found",
                           "room names are 1 to 64 of a-z, 0-9, '_' and '-'");
    return 0;
}

int64_t live_room_slow_mode(db *d, const char *room)
{
    int64_t slow = store_room_slow_mode(d, room);
    return slow < 0 ? 0 : slow;
}

int live_room_set_slow_mode(db *d, const store_user *actor, const char *room, int64_t seconds,
                            domain_error *err)
{
    int rc = moderate(actor, room, err);
    if (rc < 0)
        return rc;
    if (seconds < 0 || seconds > LIVE_SLOW_MODE_MAX)
        return domain_invalid_bounds(err, "slow_mode_seconds", "out_of_range", 0,
                                     LIVE_SLOW_MODE_MAX);
    if (store_room_set_slow_mode(d, room, seconds, actor->id, now_ms()) < 0)
        return domain_db_failed(err, d, "room slow mode");
    announce(&(live_change){.kind = LIVE_ROOM_SLOW_MODE, .room = room, .value = seconds});
    return 0;
}

int live_room_ban(db *d, const store_user *actor, const char *room, int64_t target,
                  domain_error *err)
{
    int rc = moderate(actor, room, err);
    if (rc < 0)
        return rc;
    if (actor->id == target)
        return domain_fail(err, ERR_INVALID, "cannot_ban_self", "you cannot ban yourself");
    store_user u;
    rc = store_user_by_id(d, target, &u);
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    if (rc == 0)
        rc = store_room_ban(d, room, target, actor->id, now_ms());
    if (rc < 0)
        return domain_db_failed(err, d, "room ban");
    announce(&(live_change){.kind = LIVE_ROOM_BAN, .room = room, .user_id = target});
    return 0;
}

int live_room_unban(db *d, const store_user *actor, const char *room, int64_t target,
                    domain_error *err)
{
    int rc = moderate(actor, room, err);
    if (rc < 0)
        return rc;
    rc = store_room_unban(d, room, target);
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, ERR_NOT_FOUND, "ban_not_found", "that user is not banned here");
    if (rc < 0)
        return domain_db_failed(err, d, "room unban");
    return 0;
}

int live_room_admit(db *d, const char *room, int64_t user, live_room_entry *out, domain_error *err)
{
    if (store_room_banned(d, room, user))
        return domain_fail(err, ERR_FORBIDDEN, "banned", "you are banned from this room");
    out->slow_mode_s = store_room_slow_mode(d, room);
    store_user u;
    if (out->slow_mode_s < 0 || store_user_by_id(d, user, &u) < 0)
        return domain_db_failed(err, d, "room join");
    snprintf(out->handle, sizeof out->handle, "%s", u.handle);
    return 0;
}

int64_t live_room_slow_wait(int64_t slow_mode_s, int64_t last_sent_ms, int64_t now_ms)
{
    if (slow_mode_s <= 0 || !last_sent_ms || now_ms - last_sent_ms >= slow_mode_s * 1000)
        return 0;
    return (slow_mode_s * 1000 - (now_ms - last_sent_ms) + 999) / 1000;
}

bool live_room_may_join(const live_room_caps *caps, int64_t socket_rooms, int64_t user_rooms,
                        bool user_in_room, live_room_refusal *out)
{
    if (socket_rooms >= caps->per_socket) {
        *out = (live_room_refusal){"socket", "--ws-rooms-per-socket", caps->per_socket};
        return false;
    }
    if (user_rooms >= caps->per_user && !user_in_room) {
        *out = (live_room_refusal){"user", "--ws-rooms-per-user", caps->per_user};
        return false;
    }
    return true;
}

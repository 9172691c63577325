/* SPDX-License-Identifier: MIT
 *
 * Circle rules: see circles.h.
 */
#include "domain/circles.h"

#include "core/id.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/validate.h"
#include "store/graph.h"

#include <stdio.h>
#include <string.h>

/* A circle's name, checked and trimmed by the one rule for names (validate.h) into out. */
#define NAME_BYTES (CIRCLES_NAME_CHARS * 4 + 1)
static int check_name(const char *name, char out[NAME_BYTES], domain_error *err)
{
    const char *why = validate_name(name ? name : "", CIRCLES_NAME_CHARS, false, out, NAME_BYTES);
    if (why && !strcmp(why, "too_long"))
        return domain_invalid_bounds(err, "name", why, -1, CIRCLES_NAME_CHARS);
    return why ? domain_invalid(err, "name", why) : 0;
}

int circles_create(db *d, const store_user *me, const char *name, store_circle *out,
                   domain_error *err)
{
    char trimmed[NAME_BYTES];
    int rc = check_name(name, trimmed, err);
    if (rc < 0)
        return rc;
    name = trimmed;
    if (store_circle_count(d, me->id) >= CIRCLES_MAX_PER_USER)
        return domain_fail(err, ERR_CONFLICT, "too_many_circles",
                           "you have reached the maximum number of circles");
    memset(out, 0, sizeof *out);
    out->id = id_next();
    out->owner_id = me->id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_at = out->updated_at = now_ms();
    if (store_circle_insert(d, out) < 0)
        return domain_db_failed(err, d, "create circle");
    return 0;
}

int circles_get(db *d, const store_user *me, int64_t id, store_circle *out, domain_error *err)
{
    int rc = store_circle_get(d, id, me->id, out);
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, rc, "circle_not_found", "no such circle");
    return rc < 0 ? domain_db_failed(err, d, "get circle") : 0;
}

int circles_rename(db *d, const store_user *me, int64_t id, const char *name, store_circle *out,
                   domain_error *err)
{
    char trimmed[NAME_BYTES];
    int rc = check_name(name, trimmed, err);
    if (rc < 0 || (rc = circles_get(d, me, id, out, err)) < 0)
        return rc;
    name = trimmed;
    int64_t now = now_ms();
    if (store_circle_rename(d, id, name, now) < 0)
        return domain_db_failed(err, d, "rename circle");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->updated_at = now;
    return 0;
}

int circles_delete(db *d, const store_user *me, int64_t id, domain_error *err)
{
    store_circle c;
    int rc = circles_get(d, me, id, &c, err);
    if (rc < 0)
        return rc;
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    if (store_circle_delete(d, id) < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "delete circle");
    }
    return 0;
}

int circles_set_member(db *d, const store_user *me, int64_t id, const char *handle, bool add,
                       domain_error *err)
{
    store_circle c;
    int rc = circles_get(d, me, id, &c, err);
    if (rc < 0)
        return rc;
    char norm[32];
    snprintf(norm, sizeof norm, "%s", handle);
    str_lower(norm);
    store_user member;
    rc = store_user_by_handle(d, norm, &member);
    if (rc == ERR_NOT_FOUND || (rc == 0 && add && store_blocked_either(d, me->id, member.id)))
        return domain_fail(err, ERR_NOT_FOUND, "user_not_found", "no such user");
    if (rc < 0)
        return domain_db_failed(err, d, "member");
    if (add && member.id == me->id)
        return domain_invalid(err, "handle", "is_owner");
    if (add && c.member_count >= CIRCLES_MAX_MEMBERS)
        return domain_fail(err, ERR_CONFLICT, "circle_full", "the circle is full");
    if (db_begin(d) < 0)
        return domain_db_failed(err, d, "begin");
    bool changed;
    rc = add ? store_circle_member_add(d, id_next(), id, member.id, now_ms(), &changed)
             : store_circle_member_remove(d, id, member.id, &changed);
    if (rc < 0 || db_commit(d) < 0) {
        db_rollback(d);
        return domain_db_failed(err, d, "circle member");
    }
    return 0;
}

int circles_list(db *d, const store_user *me, int64_t before_id, store_circle *out, int max,
                 domain_error *err)
{
    int n = store_circle_list(d, me->id, before_id, out, max);
    return n < 0 ? domain_db_failed(err, d, "list circles") : n;
}

int circles_members(db *d, const store_user *me, int64_t id, int64_t before_id, int64_t *member_ids,
                    store_user *out, int max, domain_error *err)
{
    store_circle c;
    int rc = circles_get(d, me, id, &c, err);
    if (rc < 0)
        return rc;
    int n = store_circle_members(d, id, before_id, member_ids, out, max);
    return n < 0 ? domain_db_failed(err, d, "circle members") : n;
}

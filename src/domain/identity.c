/* SPDX-License-Identifier: MIT
 *
 * Badge rules: see identity.h.
 */
#include "domain/identity.h"

#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/errors.h"
#include "jobs/event_log.h"
#include "store/users.h"

#include <string.h>

const char *const identity_badges[] = {"verified", "creator", "official", NULL};

static bool badge_valid(const char *badge)
{
    for (const char *const *b = identity_badges; *b; b++)
        if (!strcmp(*b, badge))
            return true;
    return false;
}

int identity_set_badge(db *d, const store_user *admin, int64_t user_id, const char *badge,
                       bool on, domain_error *err)
{
    int rc = auth_require_role(admin, "admin", err);
    if (rc < 0)
        return rc;
    if (!badge_valid(badge))
        return domain_invalid(err, "badge", "not_allowed");
    store_user u;
    rc = store_user_by_id(d, user_id, &u);
    if (rc == ERR_NOT_FOUND)
        return domain_fail(err, rc, "user_not_found", "no such user");
    if (rc < 0)
        return domain_db_failed(err, d, "badge");
    bool changed;
    rc = on ? store_badge_grant(d, user_id, badge, admin->id, now_ms(), &changed)
            : store_badge_revoke(d, user_id, badge, &changed);
    if (rc < 0)
        return domain_db_failed(err, d, "badge");
    if (changed) {
        log_info(on ? "badge granted" : "badge revoked",
                 "\"user_id\":%lld,\"badge\":\"%s\",\"admin_id\":%lld", (long long)user_id, badge,
                 (long long)admin->id);
        event_log_emit(admin->id, on ? "badge_grant" : "badge_revoke", "user", user_id, NULL);
    }
    return 0;
}

int identity_badges_of(db *d, int64_t user_id, char (*out)[STORE_BADGE_BYTES], int max)
{
    return store_badges_of(d, user_id, out, max);
}

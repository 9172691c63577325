/* SPDX-License-Identifier: MIT
 *
 * PostgreSQL backend over libpq. SQL arrives with `?` placeholders and is rewritten to $1..$n
 * once, at prepare time; statements are prepared server-side (PQprepare) and cached per
 * connection keyed by the SQL pointer, like the SQLite backend. Parameters and results travel in
 * text format, which libpq and the server convert for us. If the connection drops (server
 * restart), the next call resets it once and re-prepares lazily.
 *
 * Behind a pooler in transaction mode (db_pg_use_named_statements(false)) nothing is prepared
 * under a name: each execution sends its SQL unnamed with the parameters (PQexecParams, one
 * round trip), since consecutive calls may reach different server connections, which other
 * clients' statements of the same name would share. Nor is any session setting made.
 */
#include "store/db_internal.h"

#include "core/util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 256
/* PostgreSQL's own limit (the protocol counts parameters in 16 bits). The values array is sized
 * per statement: the analytics rollup's multi-row upserts bind up to a thousand. */
#define MAX_PARAMS 65535

typedef struct pg_stmt {
    struct db_stmt base;
    char name[16];
    char *pg_sql;         /* with $n placeholders */
    int n_params;
    bool prepared;        /* on the current server connection */
    char **values;        /* n_params of them */
    PGresult *res;
    int row;              /* rows handed out so far */
    int n_rows;
    bool executed;
    struct pg_stmt *next; /* all statements, for invalidation and freeing */
} pg_stmt;

typedef struct pg_db {
    struct db base;
    PGconn *conn;
    pg_stmt *cache[CACHE_SLOTS];
    pg_stmt *all;
    unsigned next_name;
    int64_t changes;
    char err[512];
    char version[64];
    bool named;           /* statements prepared under a name (no pooler in transaction mode) */
} pg_db;

static const db_ops pg_ops;
static bool named_statements = true; /* set once at start, before any connection */

void db_pg_use_named_statements(bool on)
{
    named_statements = on;
}

static void no_notices(void *arg, const char *message)
{
}

static void set_err(pg_db *d, const char *msg)
{
    snprintf(d->err, sizeof d->err, "%s", msg ? msg : "unknown error");
    d->err[strcspn(d->err, "\n")] = '\0';
}

/* Maps a failed result to an ERR_* by SQLSTATE. */
static int map_error(pg_db *d, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    set_err(d, res ? PQresultErrorMessage(res) : PQerrorMessage(d->conn));
    if (!state)
        return ERR_DB;
    if (!strcmp(state, "23505"))
        return ERR_CONFLICT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return ERR_BUSY;
    return ERR_DB;
}

/* Reconnects a broken connection once; every statement must then be prepared again. */
static bool ensure_connected(pg_db *d)
{
    if (PQstatus(d->conn) == CONNECTION_OK)
        return true;
    PQreset(d->conn);
    for (pg_stmt *s = d->all; s; s = s->next)
        s->prepared = false;
    if (PQstatus(d->conn) != CONNECTION_OK) {
        set_err(d, PQerrorMessage(d->conn));
        return false;
    }
    PQsetNoticeProcessor(d->conn, no_notices, NULL);
    return true;
}

static char *rewrite_placeholders(const char *sql, int *n_params)
{
    buf b = {0};
    bool in_string = false;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            in_string = !in_string;
        if (*p == '?' && !in_string)
            buf_printf(&b, "$%d", ++n);
        else
            buf_append(&b, p, 1);
    }
    *n_params = n;
    return buf_steal(&b);
}

static void clear_values(pg_stmt *s)
{
    for (int i = 0; i < s->n_params; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
    }
}

static void pg_reset(db_stmt *st)
{
    pg_stmt *s = (pg_stmt *)st;
    PQclear(s->res);
    s->res = NULL;
    s->row = s->n_rows = 0;
    s->executed = false;
    clear_values(s);
}

static void pg_close(db *base)
{
    pg_db *d = (pg_db *)base;
    for (pg_stmt *s = d->all, *n; s; s = n) {
        n = s->next;
        pg_reset(&s->base);
        free(s->values);
        free(s->pg_sql);
        free(s);
    }
    PQfinish(d->conn);
    free(d);
}

static const char *pg_errmsg(db *base)
{
    return ((pg_db *)base)->err;
}

static const char *pg_server_version(db *base)
{
    pg_db *d = (pg_db *)base;
    int v = PQserverVersion(d->conn);
    snprintf(d->version, sizeof d->version, "PostgreSQL %d.%d", v / 10000, v % 10000);
    return d->version;
}

static bool prepare_on_server(pg_db *d, pg_stmt *s)
{
    PGresult *r = PQprepare(d->conn, s->name, s->pg_sql, 0, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        map_error(d, r);
    PQclear(r);
    s->prepared = ok;
    return ok;
}

static db_stmt *pg_prepare(db *base, const char *sql)
{
    pg_db *d = (pg_db *)base;
    size_t slot = (((uintptr_t)sql >> 3) * 2654435761u) & (CACHE_SLOTS - 1);
    for (size_t probe = 0; probe < 8; probe++) {
        pg_stmt *e = d->cache[(slot + probe) & (CACHE_SLOTS - 1)];
        if (!e)
            break;
        if (e->base.sql == sql)
            return &e->base;
    }
    for (pg_stmt *s = d->all; s; s = s->next)
        if (s->base.sql == sql)
            return &s->base;
    if (!ensure_connected(d))
        return NULL;
    pg_stmt *s = xcalloc(1, sizeof *s);
    s->base.owner = base;
    s->base.sql = sql;
    s->pg_sql = rewrite_placeholders(sql, &s->n_params);
    snprintf(s->name, sizeof s->name, "s%u", d->next_name++);
    s->values = xcalloc((size_t)s->n_params + 1, sizeof *s->values);
    if (s->n_params > MAX_PARAMS || (d->named && !prepare_on_server(d, s))) {
        if (s->n_params > MAX_PARAMS)
            set_err(d, "too many parameters");
        free(s->values);
        free(s->pg_sql);
        free(s);
        return NULL;
    }
    s->next = d->all;
    d->all = s;
    for (size_t probe = 0; probe < 8; probe++) {
        pg_stmt **p = &d->cache[(slot + probe) & (CACHE_SLOTS - 1)];
        if (!*p) {
            *p = s;
            break;
        }
    }
    return &s->base;
}

static void set_value(db_stmt *st, int idx, char *v)
{
    pg_stmt *s = (pg_stmt *)st;
    if (idx < 1 || idx > s->n_params) {
        free(v);
        return;
    }
    free(s->values[idx - 1]);
    s->values[idx - 1] = v;
}

static void pg_bind_int64(db_stmt *st, int idx, int64_t v)
{
    set_value(st, idx, xasprintf("%lld", (long long)v));
}

static void pg_bind_text(db_stmt *st, int idx, const char *text)
{
    set_value(st, idx, text ? xstrdup(text) : NULL);
}

static void pg_bind_null(db_stmt *st, int idx)
{
    set_value(st, idx, NULL);
}

static int pg_step(db_stmt *st)
{
    pg_stmt *s = (pg_stmt *)st;
    pg_db *d = (pg_db *)st->owner;
    if (!s->executed) {
        int64_t t0 = monotonic_us();
        if (!ensure_connected(d) || (d->named && !s->prepared && !prepare_on_server(d, s)))
            return ERR_DB;
        const char *const *values = (const char *const *)s->values;
        s->res = d->named ? PQexecPrepared(d->conn, s->name, s->n_params, values, NULL, NULL, 0)
                          : PQexecParams(d->conn, s->pg_sql, s->n_params, NULL, values, NULL,
                                         NULL, 0);
        db_account(monotonic_us() - t0);
        s->executed = true;
        ExecStatusType status = PQresultStatus(s->res);
        if (status == PGRES_COMMAND_OK) {
            const char *n = PQcmdTuples(s->res);
            d->changes = n && *n ? strtoll(n, NULL, 10) : 0;
            return DB_DONE;
        }
        if (status != PGRES_TUPLES_OK)
            return map_error(d, s->res);
        s->n_rows = PQntuples(s->res);
        const char *n = PQcmdTuples(s->res); /* UPDATE ... RETURNING counts too */
        d->changes = n && *n ? strtoll(n, NULL, 10) : 0;
    }
    if (s->row < s->n_rows) {
        s->row++;
        return DB_ROW;
    }
    return DB_DONE;
}

static int64_t pg_col_int64(db_stmt *st, int col)
{
    pg_stmt *s = (pg_stmt *)st;
    if (!s->res || s->row < 1 || PQgetisnull(s->res, s->row - 1, col))
        return 0;
    return strtoll(PQgetvalue(s->res, s->row - 1, col), NULL, 10);
}

static const char *pg_col_text(db_stmt *st, int col)
{
    pg_stmt *s = (pg_stmt *)st;
    if (!s->res || s->row < 1 || PQgetisnull(s->res, s->row - 1, col))
        return NULL;
    return PQgetvalue(s->res, s->row - 1, col);
}

static bool pg_col_null(db_stmt *st, int col)
{
    pg_stmt *s = (pg_stmt *)st;
    return !s->res || s->row < 1 || PQgetisnull(s->res, s->row - 1, col);
}

static int64_t pg_changes(db *base)
{
    return ((pg_db *)base)->changes;
}

static int pg_exec(db *base, const char *sql)
{
    pg_db *d = (pg_db *)base;
    if (!ensure_connected(d))
        return ERR_DB;
    int64_t t0 = monotonic_us();
    PGresult *r = PQexec(d->conn, sql);
    db_account(monotonic_us() - t0);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : map_error(d, r);
    PQclear(r);
    return rc;
}

static int pg_begin(db *base)
{
    return pg_exec(base, "BEGIN");
}

int db_pg_open(const char *conninfo, db **out, char *err, size_t err_size)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, err_size, "postgres: %s", PQerrorMessage(conn));
        err[strcspn(err, "\n")] = '\0';
        PQfinish(conn);
        return ERR_DB;
    }
    PQsetNoticeProcessor(conn, no_notices, NULL);
    if (named_statements) { /* a session setting would stick to whichever server a pooler lent */
        PGresult *r = PQexec(conn, "SET client_min_messages = warning");
        PQclear(r);
    }
    pg_db *d = xcalloc(1, sizeof *d);
    d->named = named_statements;
    d->base.ops = &pg_ops;
    d->base.kind = DB_POSTGRES;
    d->conn = conn;
    *out = &d->base;
    return 0;
}

static const db_ops pg_ops = {
    .close = pg_close,
    .errmsg = pg_errmsg,
    .server_version = pg_server_version,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .reset = pg_reset,
    .changes = pg_changes,
    .exec = pg_exec,
    .begin = pg_begin,
};

/* SPDX-License-Identifier: MIT
 *
 * Job runner: see queue.h. Each worker thread loops claim -> run -> finish on its own database
 * connection; idle workers sleep on a condition variable that enqueuers in this process can
 * signal, and otherwise poll, which is how jobs queued by other processes are noticed.
 */
#include "jobs/queue.h"

#include "core/id.h"
#include "core/log.h"
#include "core/trace.h"
#include "core/util.h"

#include <pthread.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Jobs are background work: their threads (and the threads a job starts, which inherit it, such
 * as the recommender's training) yield the CPU to the request threads. A training on 10M events
 * took 1.1 cores beside For You at normal priority and cut its rate by a quarter
 * (docs/BENCHMARKS.md); ffmpeg already runs at this value. */
#define JOB_NICE 10

#define MAX_KINDS 32
#define MAX_BACKOFF_MS (3600LL * 1000)

static struct {
    char kind[STORE_JOB_KIND_BYTES];
    job_handler fn;
} handlers[MAX_KINDS];
static int n_handlers;
static pthread_mutex_t handlers_lock = PTHREAD_MUTEX_INITIALIZER;

void job_register(const char *kind, job_handler fn)
{
    pthread_mutex_lock(&handlers_lock);
    for (int i = 0; i < n_handlers; i++)
        if (!strcmp(handlers[i].kind, kind)) {
            handlers[i].fn = fn;
            pthread_mutex_unlock(&handlers_lock);
            return;
        }
    if (n_handlers < MAX_KINDS) {
        snprintf(handlers[n_handlers].kind, sizeof handlers[n_handlers].kind, "%s", kind);
        handlers[n_handlers++].fn = fn;
    }
    pthread_mutex_unlock(&handlers_lock);
}

static job_handler handler_of(const char *kind)
{
    job_handler fn = NULL;
    pthread_mutex_lock(&handlers_lock);
    for (int i = 0; i < n_handlers && !fn; i++)
        if (!strcmp(handlers[i].kind, kind))
            fn = handlers[i].fn;
    pthread_mutex_unlock(&handlers_lock);
    return fn;
}

int job_enqueue(db *d, const char *kind, const char *payload, const job_options *opts,
                int64_t *id)
{
    job_options o = opts ? *opts : (job_options){0};
    if (o.max_attempts <= 0)
        o.max_attempts = 5;
    int64_t now = now_ms(), jid = id_next();
    char traceparent[TRACE_PARENT_LEN + 1];
    int rc = store_job_insert(d, jid, kind, payload ? payload : "{}", o.priority, o.max_attempts,
                              now + (o.delay_ms > 0 ? o.delay_ms : 0), now,
                              trace_current_traceparent(traceparent) ? traceparent : NULL);
    if (rc == 0 && id)
        *id = jid;
    return rc;
}

struct job_runner {
    job_runner_options o;
    char *database_url;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    int wakeups; /* pending wake-up signals */
};

struct job_ctx {
    job_runner *r;
    db *d;
    char owner[STORE_JOB_OWNER_BYTES];
    const store_job *job;
};

db *job_db(job_ctx *ctx)
{
    return ctx->d;
}

static bool runner_stopping(job_runner *r)
{
    pthread_mutex_lock(&r->lock);
    bool s = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return s;
}

bool job_progress(job_ctx *ctx, int percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    int64_t now = now_ms();
    int rc = store_job_heartbeat(ctx->d, ctx->job->id, ctx->owner, percent,
                                 now + ctx->r->o.lease_ms, now);
    return rc == 0 && !runner_stopping(ctx->r);
}

/* Exponential backoff with +-20% jitter: base, 2 base, 4 base ... capped at an hour. */
static int64_t backoff_ms(const job_runner *r, int64_t attempts)
{
    int64_t delay = r->o.backoff_base_ms;
    for (int64_t i = 1; i < attempts && delay < MAX_BACKOFF_MS; i++)
        delay *= 2;
    if (delay > MAX_BACKOFF_MS)
        delay = MAX_BACKOFF_MS;
    int64_t jitter = delay / 5;
    if (jitter <= 0)
        return delay;
    return delay - jitter + (int64_t)randombytes_uniform((uint32_t)(2 * jitter + 1));
}

/* A CONSUMER span per attempt, a child of the span that queued the job when it was traced (the
 * traceparent stored with it), else a new root; current while the handler runs, so its SQL and
 * the jobs and messages it queues nest under it. */
static trace_span *begin_job_span(const store_job *job)
{
    if (!trace_enabled())
        return NULL;
    trace_context parent;
    bool queued_traced = trace_parse_traceparent(job->traceparent, &parent);
    char name[STORE_JOB_KIND_BYTES + 16];
    snprintf(name, sizeof name, "process %s", job->kind);
    trace_span *s = trace_begin(name, TRACE_CONSUMER, queued_traced ? &parent : NULL);
    trace_set_str(s, "messaging.system", "streamhub.jobs");
    trace_set_str(s, "messaging.operation.type", "process");
    trace_set_str(s, "messaging.destination.name", job->kind);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)job->id);
    trace_set_str(s, "messaging.message.id", id);
    trace_set_int(s, "streamhub.job.attempt", job->attempts);
    return s;
}

static void run_one(job_ctx *ctx, store_job *job)
{
    char err[512] = "";
    job_handler fn = handler_of(job->kind);
    job_result res = JOB_FAIL;
    trace_span *span = begin_job_span(job);
    trace_span *outer = trace_swap_current(span);
    if (!fn)
        snprintf(err, sizeof err, "no handler for kind %s", job->kind);
    else
        res = fn(ctx, job, err, sizeof err);
    trace_swap_current(outer);
    if (res != JOB_OK)
        trace_set_error(span, err);
    trace_end(span);
    int64_t now = now_ms();
    int rc;
    if (res == JOB_OK)
        rc = store_job_finish(ctx->d, job->id, ctx->owner, "done", NULL, now);
    else if (res == JOB_RETRY && job->attempts < job->max_attempts) /* see `retried` below */
        rc = store_job_retry_later(ctx->d, job->id, ctx->owner, err,
                                   now + backoff_ms(ctx->r, job->attempts), now);
    else
        rc = store_job_finish(ctx->d, job->id, ctx->owner, "failed", err, now);
    char esc[600];
    bool retried = res == JOB_RETRY && job->attempts < job->max_attempts;
    if (rc == ERR_NOT_FOUND)
        log_warn("job lease lost", "\"job_id\":%lld,\"kind\":\"%s\"", (long long)job->id,
                 job->kind);
    else if (res != JOB_OK)
        log_warn(retried ? "job attempt failed" : "job failed",
                 "\"job_id\":%lld,\"kind\":\"%s\",\"attempt\":%lld,\"error\":\"%s\"",
                 (long long)job->id, job->kind, (long long)job->attempts,
                 log_escape(err, esc, sizeof esc));
}

typedef struct worker_arg {
    job_runner *r;
    int index;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    job_runner *r = wa->r;
    job_ctx ctx = {.r = r};
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(ctx.owner, sizeof ctx.owner, "%.40s:%d:%d", host, (int)getpid(), wa->index);
    free(wa);
    pthread_setname_np(pthread_self(), "sh-jobs");
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), JOB_NICE);
    while (!runner_stopping(r)) {
        char err[256];
        if (!ctx.d && db_open(r->database_url, &ctx.d, err, sizeof err) < 0)
            ctx.d = NULL;
        store_job job = {0};
        int rc = ctx.d ? store_job_claim(ctx.d, ctx.owner, now_ms(), r->o.lease_ms, &job)
                       : ERR_DB;
        if (rc == 0) {
            ctx.job = &job;
            run_one(&ctx, &job);
            ctx.job = NULL;
            store_job_free(&job);
            continue;
        }
        if (rc != ERR_NOT_FOUND && ctx.d) {
            db_close(ctx.d); /* reconnect next round */
            ctx.d = NULL;
        }
        pthread_mutex_lock(&r->lock);
        if (!r->stopping && r->wakeups == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += r->o.poll_ms / 1000;
            ts.tv_nsec += (r->o.poll_ms % 1000) * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        if (r->wakeups > 0)
            r->wakeups--;
        pthread_mutex_unlock(&r->lock);
    }
    db_close(ctx.d);
    return NULL;
}

job_runner *job_runner_start(const job_runner_options *opts, char *err, size_t err_size)
{
    job_runner *r = xcalloc(1, sizeof *r);
    r->o = *opts;
    if (r->o.threads <= 0)
        r->o.threads = 1;
    if (r->o.lease_ms <= 0)
        r->o.lease_ms = 60000;
    if (r->o.backoff_base_ms <= 0)
        r->o.backoff_base_ms = 5000;
    if (r->o.poll_ms <= 0)
        r->o.poll_ms = 1000;
    r->database_url = xstrdup(opts->database_url);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->threads = xcalloc((size_t)r->o.threads, sizeof *r->threads);
    for (; r->n_threads < r->o.threads; r->n_threads++) {
        worker_arg *wa = xmalloc(sizeof *wa);
        *wa = (worker_arg){r, r->n_threads};
        if (pthread_create(&r->threads[r->n_threads], NULL, worker_main, wa) != 0) {
            free(wa);
            snprintf(err, err_size, "cannot start job worker threads");
            job_runner_stop(r);
            return NULL;
        }
    }
    return r;
}

void job_runner_wakeup(job_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->wakeups = r->n_threads;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void job_runner_stop(job_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r->threads);
    free(r->database_url);
    free(r);
}

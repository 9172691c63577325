/* SPDX-License-Identifier: MIT
 *
 * The outbox delivery loop: one thread with its own database connection. It polls once a second
 * and is woken at once when a request queues a message. Claims are leased in the database, so
 * any number of `streamhub serve` and `streamhub worker` processes can run this loop together.
 *
 * libcurl (and through it OpenSSL's TLS state, ~2 MiB resident) is initialised only when a
 * worker delivers by webhook or SMTP, and released when it stops: the default "log" delivery
 * never needs it. Debian's libcurl is built thread-safe (7.84+), so initialising it once other
 * threads run is allowed.
 */
#include "jobs/outbox_worker.h"

#include "core/log.h"
#include "core/trace.h"
#include "core/util.h"
#include "store/db.h"
#include "store/outbox.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 16
#define LEASE_MS 60000
#define MAX_ATTEMPTS 8

typedef enum { DELIVER_LOG, DELIVER_WEBHOOK, DELIVER_SMTP } delivery_kind;

struct outbox_worker {
    outbox_options opts;
    delivery_kind kind;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    bool woken;
};

static size_t discard_body(char *ptr, size_t size, size_t n, void *user)
{
    return size * n;
}

static int deliver_webhook(outbox_worker *w, const store_outbox_msg *m, trace_span *span,
                           char *err, size_t n)
{
    CURL *c = curl_easy_init();
    if (!c)
        return snprintf(err, n, "curl init failed"), ERR_NOMEM;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char idem[64];
    snprintf(idem, sizeof idem, "Idempotency-Key: outbox-%lld", (long long)m->id);
    h = curl_slist_append(h, idem);
    trace_context tc;
    if (trace_context_of(span, &tc)) { /* the receiver may continue the trace */
        char traceparent[sizeof "traceparent: " + TRACE_PARENT_LEN] = "traceparent: ";
        trace_format_traceparent(&tc, traceparent + strlen(traceparent));
        h = curl_slist_append(h, traceparent);
    }
    curl_easy_setopt(c, CURLOPT_URL, w->opts.webhook_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, m->payload);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (status)
        trace_set_int(span, "http.response.status_code", status);
    if (rc != CURLE_OK)
        return snprintf(err, n, "webhook: %s", curl_easy_strerror(rc)), ERR_IO;
    if (status < 200 || status > 299)
        return snprintf(err, n, "webhook answered %ld", status), ERR_IO;
    return 0;
}

typedef struct mail_reader {
    const char *data;
    size_t len, off;
} mail_reader;

static size_t read_mail(char *ptr, size_t size, size_t nmemb, void *user)
{
    mail_reader *r = user;
    size_t room = size * nmemb, left = r->len - r->off;
    size_t k = left < room ? left : room;
    memcpy(ptr, r->data + r->off, k);
    r->off += k;
    return k;
}

static int deliver_smtp(outbox_worker *w, const store_outbox_msg *m, char *err, size_t n)
{
    if (strcmp(m->channel, "email") != 0)
        return snprintf(err, n, "smtp delivery cannot send %s messages", m->channel), ERR_INVALID;
    json_t *msg = json_loads(m->payload, 0, NULL);
    const char *subject = json_string_value(json_object_get(msg, "subject"));
    const char *text = json_string_value(json_object_get(msg, "text"));
    buf mail = {0};
    char date[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    buf_printf(&mail,
               "Date: %s\r\nTo: <%s>\r\nFrom: <%s>\r\nMessage-ID: <outbox-%lld@streamhub>\r\n"
               "Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "\r\n%s\r\n",
               date, m->recipient, w->opts.smtp_from, (long long)m->id,
               subject ? subject : "StreamHub", text ? text : "");
    json_decref(msg);
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, m->recipient);
    mail_reader reader = {mail.data, mail.len, 0};
    char from[300];
    snprintf(from, sizeof from, "<%s>", w->opts.smtp_from);
    curl_easy_setopt(c, CURLOPT_URL, w->opts.smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_mail);
    curl_easy_setopt(c, CURLOPT_READDATA, &reader);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (*w->opts.smtp_user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, w->opts.smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, w->opts.smtp_password);
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    buf_free(&mail);
    if (rc != CURLE_OK)
        return snprintf(err, n, "smtp: %s", curl_easy_strerror(rc)), ERR_IO;
    return 0;
}

/* A CLIENT span per outbound delivery, a child of the span that queued the message when it was
 * traced, else a new root. The URL is recorded without its query, which may hold a token. */
static trace_span *begin_delivery_span(outbox_worker *w, const store_outbox_msg *m)
{
    if (w->kind == DELIVER_LOG || !trace_enabled())
        return NULL;
    trace_context parent;
    bool queued_traced = trace_parse_traceparent(m->traceparent, &parent);
    bool webhook = w->kind == DELIVER_WEBHOOK;
    trace_span *s = trace_begin(webhook ? "POST" : "SMTP send", TRACE_CLIENT,
                                queued_traced ? &parent : NULL);
    const char *url = webhook ? w->opts.webhook_url : w->opts.smtp_url;
    char without_query[512];
    snprintf(without_query, sizeof without_query, "%.*s", (int)strcspn(url, "?#"), url);
    trace_set_str(s, "url.full", without_query);
    if (webhook)
        trace_set_str(s, "http.request.method", "POST");
    else
        trace_set_str(s, "network.protocol.name", "smtp");
    trace_set_str(s, "streamhub.outbox.channel", m->channel);
    trace_set_str(s, "streamhub.outbox.template", m->template_name);
    return s;
}

static int deliver_traced(outbox_worker *w, const store_outbox_msg *m, trace_span *span,
                          char *err, size_t n)
{
    switch (w->kind) {
    case DELIVER_WEBHOOK: return deliver_webhook(w, m, span, err, n);
    case DELIVER_SMTP: return deliver_smtp(w, m, err, n);
    case DELIVER_LOG:
    default:
        /* Development adapter: the message (and its code) goes to the log. */
        log_info("message", "\"id\":\"%lld\",\"channel\":\"%s\",\"template\":\"%s\",\"payload\":%s",
                 (long long)m->id, m->channel, m->template_name, m->payload);
        return 0;
    }
}

static int deliver(outbox_worker *w, const store_outbox_msg *m, char *err, size_t n)
{
    trace_span *span = begin_delivery_span(w, m);
    int rc = deliver_traced(w, m, span, err, n);
    if (rc < 0)
        trace_set_error(span, err);
    trace_end(span);
    return rc;
}

static void run_batch(outbox_worker *w, db *d)
{
    store_outbox_msg msgs[BATCH];
    int n = store_outbox_claim(d, now_ms(), LEASE_MS, msgs, BATCH);
    if (n < 0) {
        log_warn("outbox claim failed", "\"detail\":\"%s\"", "database error");
        return;
    }
    for (int i = 0; i < n; i++) {
        char err[256] = "";
        if (deliver(w, &msgs[i], err, sizeof err) == 0) {
            store_outbox_sent(d, msgs[i].id, now_ms());
        } else {
            int64_t attempts = msgs[i].attempts;
            int64_t next = attempts >= MAX_ATTEMPTS ? 0 : now_ms() + (1000LL << (attempts - 1));
            char esc[300];
            store_outbox_retry(d, msgs[i].id, next, err);
            log_warn("delivery failed", "\"id\":\"%lld\",\"attempt\":%lld,\"error\":\"%s\"",
                     (long long)msgs[i].id, (long long)attempts, log_escape(err, esc, sizeof esc));
        }
        free(msgs[i].payload);
    }
    if (n == BATCH) {
        pthread_mutex_lock(&w->lock);
        w->woken = true; /* more may be due */
        pthread_mutex_unlock(&w->lock);
    }
}

static void *worker_main(void *arg)
{
    outbox_worker *w = arg;
    pthread_setname_np(pthread_self(), "sh-outbox");
    db *d = NULL;
    char err[256];
    for (;;) {
        pthread_mutex_lock(&w->lock);
        if (!w->woken && !w->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        }
        bool stop = w->stopping;
        w->woken = false;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        if (!d && db_open(w->opts.database_url, &d, err, sizeof err) < 0) {
            log_warn("outbox database unavailable", "\"detail\":\"%s\"", "open failed");
            d = NULL;
            continue;
        }
        run_batch(w, d);
    }
    db_close(d);
    return NULL;
}

outbox_worker *outbox_worker_start(const outbox_options *opts, char *err, unsigned long err_size)
{
    delivery_kind kind;
    if (!strcmp(opts->delivery, "log"))
        kind = DELIVER_LOG;
    else if (!strcmp(opts->delivery, "webhook")) {
        kind = DELIVER_WEBHOOK;
        if (!*opts->webhook_url) {
            snprintf(err, err_size, "--delivery webhook needs --webhook-url");
            return NULL;
        }
    } else if (!strcmp(opts->delivery, "smtp")) {
        kind = DELIVER_SMTP;
        if (!*opts->smtp_url) {
            snprintf(err, err_size, "--delivery smtp needs --smtp-url");
            return NULL;
        }
    } else {
        snprintf(err, err_size, "--delivery must be log, webhook or smtp");
        return NULL;
    }
    if (kind != DELIVER_LOG && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "libcurl failed to initialise");
        return NULL;
    }
    outbox_worker *w = xcalloc(1, sizeof *w);
    w->opts = *opts;
    w->kind = kind;
    w->woken = true; /* deliver what a previous run left behind */
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        snprintf(err, err_size, "cannot start the outbox thread");
        if (kind != DELIVER_LOG)
            curl_global_cleanup();
        free(w);
        return NULL;
    }
    return w;
}

void outbox_worker_wakeup(void *worker)
{
    outbox_worker *w = worker;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->woken = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void outbox_worker_stop(outbox_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->kind != DELIVER_LOG)
        curl_global_cleanup();
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

/* SPDX-License-Identifier: MIT
 *
 * The WebSocket hub: a few epoll threads own every upgraded socket (never a thread per socket),
 * libwslay does the RFC 6455 framing (masking, fragmentation, control frames, close codes, the
 * message size limit), and this file does the rest: the JSON envelope and command dispatch,
 * authentication state, token expiry and session revocation, keepalive, idle and auth timeouts, the
 * send-queue cap, bus subscriptions and the worker pool for commands that need the database.
 *
 * Threads. A socket belongs to one hub thread, which alone touches its wslay context and fd.
 * Everything that comes from elsewhere (a bus delivery on a publisher's thread, a reply from a
 * worker, a new socket from the HTTP loop) is a "mail" appended to the owning thread's inbox
 * under a mutex, with an eventfd write when the inbox was empty. A connection is
 * reference-counted: the thread holds one reference, each mail and each call in a worker one
 * more, so a socket may close while a worker still holds a call for it; such replies find the
 * connection marked closed and are dropped.
 *
 * Memory per idle socket is the conn struct (336 bytes), its two bus subscriptions (user and
 * session, about 50 bytes each) and the kernel's socket buffers (not in the RSS). wslay's context
 * (8.8 KiB: a 4 KiB read buffer and a 4 KiB write buffer inside) exists only while the socket is
 * busy: it is made when input arrives or wslay must write a control frame, and freed by the
 * timer walk once the socket has been quiet for WS_RELEASE_MS at a frame boundary with nothing
 * queued (see conn_ws and ws_quiet). Most sockets of a chat server sit idle, so most hold none;
 * after a burst, malloc is asked to give the freed pages back (trim_after_burst).
 *
 * Sending. Server frames are not masked, so a message's frame is the same bytes for every
 * recipient: outgoing data frames are built once into a reference-counted buffer (frame) and
 * each socket queues a reference in its own out-queue (a ring of pointers that exists only while
 * something is queued), written with one sendmsg per socket per wakeup carrying every pending
 * frame. wslay keeps parsing the input and owns the control frames
 * (pong, ping, close); the two writers never interleave inside a frame: ours only writes when
 * wslay has nothing pending, and wslay is only asked to write when our first frame is not half
 * written. A close still overtakes queued data (as it did when wslay held the data too): once
 * wslay has sent the close, frames never begun are dropped. The out-queue plus wslay's is capped
 * in bytes (--ws-send-queue): a consumer too slow for it stops being read, is sent 1013 and is
 * dropped if it cannot even take that in time. Mail is applied in batches: every socket touched
 * by one inbox drain is flushed once at its end, and an inbox wakes its thread (eventfd) only
 * when it goes from empty to non-empty, so a burst of publishes costs one wakeup per thread.
 *
 * Direct fan-out (ws_send_connections): rooms hand one prepared message and a list of socket
 * ids; the ids are looked up in a registry (open sockets by id, under a reader/writer lock taken
 * once per fan-out), grouped per hub thread into one mail each, and every socket queues the
 * same frame: no topic lookup, copy or framing per member.
 *
 * Timers are coarse: every TICK_MS each thread walks its sockets (a few microseconds per
 * thousand) for pings, idle and auth timeouts, token expiry and close deadlines; one walk beats
 * a timer per socket at this granularity.
 */
#include "ws/hub.h"
#include "ws/ws.h"

#include "core/bus.h"
#include "core/topics.h"
#include "core/trace.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define MAX_COMMANDS 128
#define TYPE_MAX 48
#define MAX_INFLIGHT 32 /* blocking commands one socket may have queued or running */
#define TICK_MS 250
#define CLOSE_LINGER_MS 3000 /* a close handshake the peer does not finish in time is cut */
#define SLOW_LINGER_MS 10000 /* a slow consumer's last chance to read its queue and the 1013 */
#define SESSION_BUCKETS 4096
#define CONN_BUCKETS 16384 /* the id -> socket registry of direct fan-out */
#define WRITE_IOV 64       /* frames per sendmsg */
#define WS_RELEASE_MS 1000 /* a socket quiet this long gives its wslay context back */
#define TRIM_DROP 1024         /* fewer live wslay contexts than their peak: malloc_trim */
#define TRIM_INTERVAL_MS 10000 /* and at most this often */

/* ---- command registry --------------------------------------------------------------------- */

typedef struct command {
    char type[TYPE_MAX];
    ws_command_fn fn;
    unsigned flags;
    ws_budget *budget; /* per-user budget drawn before fn runs; NULL = none */
} command;

static command commands[MAX_COMMANDS];
static int n_commands;
/* Presence registers one, chat may register another: a short fixed list, filled before the hub
 * starts (like the commands) and read without a lock afterwards. */
static ws_session_fn session_fns[WS_SESSION_FNS_MAX];
static int n_session_fns;

void ws_command_register(const char *type, ws_command_fn fn, unsigned flags)
{
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].type, type)) {
            commands[i].fn = fn;
            commands[i].flags = flags;
            return;
        }
    if (n_commands == MAX_COMMANDS || strlen(type) >= TYPE_MAX) {
        log_error("ws command not registered", "\"type\":\"%s\"", type);
        return;
    }
    snprintf(commands[n_commands].type, TYPE_MAX, "%s", type);
    commands[n_commands].fn = fn;
    commands[n_commands].flags = flags;
    n_commands++;
}

static const command *command_find(const char *type)
{
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].type, type))
            return &commands[i];
    return NULL;
}

void ws_command_budget(const char *type, ws_budget *b)
{
    command *cmd = (command *)command_find(type);
    if (!cmd) {
        log_error("ws budget for an unregistered command", "\"type\":\"%s\"", type);
        return;
    }
    cmd->budget = b;
}

void ws_command_budget_others(ws_budget *b)
{
    for (int i = 0; i < n_commands; i++)
        if (!commands[i].budget && !(commands[i].flags & WS_CMD_ANONYMOUS))
            commands[i].budget = b;
}

void ws_on_session(ws_session_fn fn)
{
    for (int i = 0; i < n_session_fns; i++)
        if (session_fns[i] == fn)
            return; /* registering twice does not mean being told twice */
    if (!fn || n_session_fns == WS_SESSION_FNS_MAX) {
        log_error("ws session callback not registered", "\"max\":%d", WS_SESSION_FNS_MAX);
        return;
    }
    session_fns[n_session_fns++] = fn;
}

static void session_notify(int64_t user, bool online)
{
    for (int i = 0; i < n_session_fns; i++)
        session_fns[i](user, online);
}

/* ---- types -------------------------------------------------------------------------------- */

typedef struct topic_sub {
    struct topic_sub *next;
    bus_sub *sub;
    char name[];
} topic_sub;

typedef struct hub_thread hub_thread;

/* One outgoing data frame (header + payload), shared by every socket that queues it. */
typedef struct frame {
    atomic_int refs;
    size_t len;  /* header + payload */
    uint8_t hdr; /* header bytes (2, 4 or 10) */
    uint8_t bytes[];
} frame;

typedef struct conn {
    struct conn *prev, *next; /* the owning thread's list */
    hub_thread *t;
    atomic_int refs;
    atomic_bool closed;   /* destroyed: the fd and wslay context are gone */
    atomic_bool detached; /* closing: off the bus and out of the session counts */
    atomic_int inflight;
    _Atomic int64_t user_id; /* 0 until authenticated; read by workers */
    atomic_bool revoked;     /* its session ended: set by the bus delivery, read by workers */
    int64_t session_id;      /* the login session (hub thread only) */
    bus_sub *session_sub;    /* "session:<id>" */
    int fd;
    ws_release_fn release;
    void *release_arg;
    wslay_event_context_ptr ws; /* NULL while idle: see conn_ws */
    int64_t rx_unframed; /* bytes read minus the sizes of the frames begun: 0 at a boundary */
    bool msg_open;       /* a fragmented data message has begun and not ended */
    uint64_t id;
    int64_t expires_ms;                                             /* wall clock */
    int64_t opened_ms, last_rx_ms, last_ping_ms, close_deadline_ms; /* monotonic */
    char *extra;
    size_t extra_len, extra_off;
    uint32_t epoll_mask;
    bool closing, expiring_sent, io_failed;
    bool draining; /* close handshake done, write side shut, reading to EOF (lingering close) */
    pthread_mutex_t mu; /* topics, which workers may change */
    topic_sub *topics;
    bus_sub *user_sub;
    /* the out-queue: a ring of frame references, allocated at the first message */
    frame **oq;
    size_t oq_head, oq_n, oq_cap;
    size_t oq_off;           /* bytes of the first frame already written */
    size_t oq_bytes;         /* queued, for the send-queue cap */
    struct conn *id_next;    /* registry chain */
    struct conn *dirty_next; /* the drain's flush list */
    bool dirty, registered;
    bool close_pending; /* a close waiting for the data queued before it (not 1013) */
    uint16_t close_code;
    char *close_reason; /* only while close_pending: most sockets never need it */
} conn;

enum { MAIL_ADOPT, MAIL_SEND, MAIL_AUTH, MAIL_CLOSE, MAIL_FANOUT };

typedef struct mail {
    struct mail *next;
    conn *c; /* NULL for MAIL_FANOUT */
    int kind;
    int64_t a, b, sid;
    frame *f;     /* MAIL_FANOUT: one reference for the whole mail */
    conn **conns; /* MAIL_FANOUT: each holds a reference */
    size_t n_conns;
    size_t len;
    char data[];
} mail;

struct hub_thread {
    pthread_t tid;
    int epfd, evfd;
    pthread_mutex_t mu;
    mail *head, *tail;
    conn *conns;
    int64_t now; /* monotonic ms, refreshed every loop */
    atomic_bool stop;
};

struct ws_call {
    conn *c;
    const command *cmd;
    json_t *msg;
    json_t *data;
    const char *type;
    void *ctx;
    bool answered;
    trace_span *span; /* while the command runs, when traced */
};

static struct {
    ws_hub_options o;
    hub_thread *threads;
    int n_threads;
    pool *workers;
    atomic_bool running;
    atomic_uint rr;
    atomic_size_t n_conns;
} hub;

static atomic_uint_fast64_t next_conn_id = 1;

/* /metrics: sockets closed, by the close code the server sent (0: none, the TCP just ended) */
static const int metric_codes[] = {0,
                                   1000,
                                   1001,
                                   1002,
                                   1003,
                                   1007,
                                   1009,
                                   1011,
                                   1013,
                                   WS_CLOSE_IDLE,
                                   WS_CLOSE_TOKEN_EXPIRED,
                                   WS_CLOSE_SESSION_REVOKED,
                                   WS_CLOSE_AUTH_FAILED};
#define N_METRIC_CODES (sizeof metric_codes / sizeof metric_codes[0])
static atomic_uint_fast64_t closes_by_code[N_METRIC_CODES + 1]; /* last: any other code */
static atomic_uint_fast64_t msgs_in, msgs_out, bytes_out, opened_total;
/* Held (read) by ws_hub_adopt while it queues a socket, taken (write) by ws_hub_stop to end
 * adoption: the HTTP loop may still hand over an upgrade while the hub is stopping. */
static pthread_rwlock_t adopt_lock = PTHREAD_RWLOCK_INITIALIZER;

static int64_t mono_ms(void)
{
    return monotonic_us() / 1000;
}

/* ---- frames ------------------------------------------------------------------------------- */

/* A final, unmasked text frame (RFC 6455 §5.2) around payload; one reference. */
static frame *frame_new(const char *payload, size_t len)
{
    size_t h = len < 126 ? 2 : len < 65536 ? 4 : 10;
    frame *f = xmalloc(sizeof *f + h + len);
    atomic_init(&f->refs, 1);
    f->len = h + len;
    f->hdr = (uint8_t)h;
    f->bytes[0] = 0x81;
    if (h == 2) {
        f->bytes[1] = (uint8_t)len;
    } else if (h == 4) {
        f->bytes[1] = 126;
        f->bytes[2] = (uint8_t)(len >> 8);
        f->bytes[3] = (uint8_t)len;
    } else {
        f->bytes[1] = 127;
        for (int i = 0; i < 8; i++)
            f->bytes[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(f->bytes + h, payload, len);
    return f;
}

static void frame_unref(frame *f)
{
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        free(f);
}

/* ---- the id -> socket registry (direct fan-out) ------------------------------------------- */

static pthread_rwlock_t registry_lock = PTHREAD_RWLOCK_INITIALIZER;
static conn *registry[CONN_BUCKETS];

static unsigned id_bucket(uint64_t id)
{
    return (unsigned)((id * 0x9E3779B97F4A7C15ull) >> 50) % CONN_BUCKETS;
}

/* ---- per-user socket counts (ws_on_session) ----------------------------------------------- */

typedef struct session_node {
    struct session_node *next;
    int64_t user_id;
    int count;
} session_node;

static pthread_mutex_t session_mu = PTHREAD_MUTEX_INITIALIZER;
static session_node *sessions[SESSION_BUCKETS];

/* Returns true when this was the user's first (add) or last (remove) socket on this node. */
static bool session_change(int64_t user_id, int delta)
{
    unsigned b = (unsigned)((uint64_t)user_id * 0x9E3779B97F4A7C15ull >> 52) % SESSION_BUCKETS;
    bool edge = false;
    pthread_mutex_lock(&session_mu);
    session_node **p = &sessions[b];
    while (*p && (*p)->user_id != user_id)
        p = &(*p)->next;
    if (delta > 0) {
        if (!*p) {
            *p = xcalloc(1, sizeof **p);
            (*p)->user_id = user_id;
        }
        edge = (*p)->count++ == 0;
    } else if (*p) {
        if (--(*p)->count == 0) {
            session_node *dead = *p;
            *p = dead->next;
            free(dead);
            edge = true;
        }
    }
    pthread_mutex_unlock(&session_mu);
    return edge;
}

/* ---- connection references and mail ------------------------------------------------------- */

static void conn_ref(conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void conn_unref(conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&c->mu);
        free(c->extra);
        free(c->close_reason);
        free(c);
    }
}

static mail *mail_new(conn *c, int kind, const void *data, size_t len)
{
    mail *m = xmalloc(sizeof *m + len + 1);
    m->next = NULL;
    m->c = c;
    m->kind = kind;
    m->a = m->b = m->sid = 0;
    m->len = len;
    if (len)
        memcpy(m->data, data, len);
    m->data[len] = '\0';
    conn_ref(c);
    return m;
}

static void mail_push(hub_thread *t, mail *m)
{
    pthread_mutex_lock(&t->mu);
    bool was_empty = !t->head;
    if (t->tail)
        t->tail->next = m;
    else
        t->head = m;
    t->tail = m;
    pthread_mutex_unlock(&t->mu);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t w = write(t->evfd, &one, sizeof one);
        (void)w; /* a full eventfd counter still wakes the thread */
    }
}

static bool on_own_thread(conn *c)
{
    return pthread_equal(pthread_self(), c->t->tid);
}

/* ---- wslay callbacks ---------------------------------------------------------------------- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *out, size_t len, int flags, void *user)
{
    conn *c = user;
    if (c->extra) {
        size_t n = c->extra_len - c->extra_off;
        if (n > len)
            n = len;
        memcpy(out, c->extra + c->extra_off, n);
        c->extra_off += n;
        if (c->extra_off == c->extra_len) {
            free(c->extra);
            c->extra = NULL;
        }
        c->last_rx_ms = c->t->now;
        c->rx_unframed += (int64_t)n;
        return (ssize_t)n;
    }
    ssize_t r = recv(c->fd, out, len, 0);
    if (r > 0) {
        c->last_rx_ms = c->t->now;
        c->rx_unframed += r;
        return r;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        c->io_failed = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* EOF or reset */
    }
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    conn *c = user;
    ssize_t r = send(c->fd, data, len, MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        c->io_failed = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static void handle_text(conn *c, const uint8_t *p, size_t n);

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user);

static void on_frame_start_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg *arg, void *user);

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_frame_recv_start_callback = on_frame_start_cb,
    .on_msg_recv_callback = on_msg_cb,
};

/* ---- the wslay context, only while the socket is busy ------------------------------------- */

/* Live wslay contexts, and their most since the last trim (see trim_after_burst). */
static atomic_long live_contexts, peak_contexts;
static _Atomic int64_t last_trim_ms;

/* The socket's wslay context, made on first use. The calls below answer for a socket without one
 * as a fresh context would: reading, nothing queued, no close either way. */
static wslay_event_context_ptr conn_ws(conn *c)
{
    if (!c->ws) {
        if (wslay_event_context_server_init(&c->ws, &callbacks, c) != 0) {
            log_error("out of memory", "\"what\":\"%s\"", "wslay context");
            abort(); /* as xmalloc does */
        }
        wslay_event_config_set_max_recv_msg_length(c->ws, hub.o.max_message);
        long live = atomic_fetch_add(&live_contexts, 1) + 1;
        long peak = atomic_load(&peak_contexts);
        while (live > peak && !atomic_compare_exchange_weak(&peak_contexts, &peak, live))
            ;
    }
    return c->ws;
}

static bool ws_want_read(const conn *c)
{
    return !c->ws || wslay_event_want_read(c->ws);
}

static bool ws_want_write(const conn *c)
{
    return c->ws && wslay_event_want_write(c->ws);
}

static bool ws_write_enabled(const conn *c)
{
    return !c->ws || wslay_event_get_write_enabled(c->ws);
}

static size_t ws_queued_bytes(const conn *c)
{
    return c->ws ? wslay_event_get_queued_msg_length(c->ws) : 0;
}

static bool ws_close_sent(const conn *c)
{
    return c->ws && wslay_event_get_close_sent(c->ws);
}

static bool ws_close_received(const conn *c)
{
    return c->ws && wslay_event_get_close_received(c->ws);
}

/* True when freeing the context loses nothing: no partial frame or fragmented message in its
 * read buffer, nothing for it to write, no close begun, both directions open. rx_unframed is
 * exact because wslay refuses non-minimal length encodings and unmasked client frames; were it
 * ever off, it would only keep a context alive. */
static bool ws_quiet(const conn *c)
{
    return c->ws && !c->closing && c->rx_unframed == 0 && !c->msg_open &&
           wslay_event_get_read_enabled(c->ws) && wslay_event_get_write_enabled(c->ws) &&
           !wslay_event_want_write(c->ws) && !wslay_event_get_close_sent(c->ws) &&
           !wslay_event_get_close_received(c->ws);
}

static void ws_release(conn *c)
{
    wslay_event_context_free(c->ws);
    c->ws = NULL;
    atomic_fetch_sub(&live_contexts, 1);
}

/* Freed contexts lie between live allocations, where malloc keeps their pages: after a burst that
 * woke thousands of sockets, the RSS would stay at the burst's peak. malloc_trim hands the free
 * pages of every arena back (it walks free chunks, not the heap), but a page given back costs a
 * fault when it is used again (2.5 us per context made from malloc's free lists, 100 us from
 * trimmed pages on our Firecracker VM): so only when the live contexts fell well below their
 * peak, a burst over, never in a steady churn; one thread at a time, at most every 10 s. */
static void trim_after_burst(int64_t now)
{
#ifdef __GLIBC__
    int64_t last = atomic_load(&last_trim_ms);
    long live = atomic_load(&live_contexts);
    if (atomic_load(&peak_contexts) - live < TRIM_DROP || now - last < TRIM_INTERVAL_MS ||
        !atomic_compare_exchange_strong(&last_trim_ms, &last, now))
        return;
    atomic_store(&peak_contexts, live);
    malloc_trim(0);
#else
    (void)now;
#endif
}

/* ---- sending and closing (hub thread) ----------------------------------------------------- */

/* Takes a closing socket off the bus and out of its user's session count at once, not when
 * the TCP connection finally ends: nothing more is sent to it, and presence should not wait
 * for a close handshake. */
static void conn_detach(conn *c)
{
    if (atomic_load(&c->detached))
        return;
    atomic_store(&c->detached, true);
    if (c->registered) {
        pthread_rwlock_wrlock(&registry_lock);
        for (conn **p = &registry[id_bucket(c->id)]; *p; p = &(*p)->id_next)
            if (*p == c) {
                *p = c->id_next;
                break;
            }
        pthread_rwlock_unlock(&registry_lock);
        c->registered = false;
    }
    bus_unsubscribe(c->user_sub);
    c->user_sub = NULL;
    bus_unsubscribe(c->session_sub);
    c->session_sub = NULL;
    pthread_mutex_lock(&c->mu);
    topic_sub *topics = c->topics;
    c->topics = NULL;
    pthread_mutex_unlock(&c->mu);
    while (topics) {
        topic_sub *next = topics->next;
        bus_unsubscribe(topics->sub);
        free(topics);
        topics = next;
    }
    int64_t user = atomic_load(&c->user_id);
    if (user && session_change(user, -1))
        session_notify(user, false);
}

/* overtake: the close goes before what is queued (see conn_close) */
static void conn_close_ex(conn *c, int code, const char *reason, bool overtake)
{
    if (c->closing || atomic_load(&c->closed))
        return;
    conn_detach(c);
    c->closing = true;
    c->close_deadline_ms = c->t->now + (code == 1013 ? SLOW_LINGER_MS : CLOSE_LINGER_MS);
    if (!overtake && c->oq_n) {
        /* what was queued before the close (the error reply of a failed auth) goes out first;
         * conn_service queues the close once the out-queue is empty. A slow consumer's 1013
         * overtakes its backlog instead: that backlog is why it is closed. */
        c->close_pending = true;
        c->close_code = (uint16_t)code;
        c->close_reason = xstrdup(reason);
        return;
    }
    wslay_event_queue_close(conn_ws(c), (uint16_t)code, (const uint8_t *)reason, strlen(reason));
}

static void conn_close(conn *c, int code, const char *reason)
{
    conn_close_ex(c, code, reason, code == 1013);
}

/* Queues a reference to f on c's out-queue (hub thread); the caller keeps its own. */
static void conn_enqueue(conn *c, frame *f)
{
    if (c->closing || atomic_load(&c->closed) || !ws_write_enabled(c))
        return;
    size_t queued = c->oq_bytes + ws_queued_bytes(c);
    if (queued + f->len > hub.o.send_queue) {
        /* Reading on would only queue more replies. wslay sends the close next, after the
         * frame in progress and ahead of the queued messages, which the client then forgoes. */
        log_warn("ws slow consumer closed", "\"connection\":%llu,\"queued\":%zu",
                 (unsigned long long)c->id, queued);
        conn_close(c, 1013, "send queue full: the client reads too slowly");
        wslay_event_shutdown_read(conn_ws(c));
        return;
    }
    if (c->oq_n == c->oq_cap) {
        size_t cap = c->oq_cap ? c->oq_cap * 2 : 8;
        frame **q = xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < c->oq_n; i++)
            q[i] = c->oq[(c->oq_head + i) % c->oq_cap];
        free(c->oq);
        c->oq = q;
        c->oq_cap = cap;
        c->oq_head = 0;
    }
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    c->oq[(c->oq_head + c->oq_n) % c->oq_cap] = f;
    c->oq_n++;
    c->oq_bytes += f->len;
    atomic_fetch_add_explicit(&msgs_out, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes_out, f->len - f->hdr, memory_order_relaxed);
}

static void conn_send(conn *c, const char *text, size_t len)
{
    if (c->closing || atomic_load(&c->closed))
        return;
    frame *f = frame_new(text, len);
    conn_enqueue(c, f);
    frame_unref(f);
}

/* Drops the out-queue's frames from index keep on (0: all; 1 keeps a half-written first). */
static void oq_drop(conn *c, size_t keep)
{
    while (c->oq_n > keep) {
        size_t i = (c->oq_head + c->oq_n - 1) % c->oq_cap;
        c->oq_bytes -= c->oq[i]->len;
        frame_unref(c->oq[i]);
        c->oq_n--;
    }
    if (!c->oq_n) {
        /* an idle socket holds no queue: 10,000 of them would keep ~1 MiB of empty rings */
        c->oq_head = c->oq_off = 0;
        free(c->oq);
        c->oq = NULL;
        c->oq_cap = 0;
    }
}

/* Writes as much of the out-queue as the socket takes, many frames per sendmsg. -1 on a dead
 * socket. */
static int oq_flush(conn *c)
{
    while (c->oq_n) {
        struct iovec iov[WRITE_IOV];
        int k = 0;
        for (size_t i = 0; i < c->oq_n && k < WRITE_IOV; i++, k++) {
            frame *f = c->oq[(c->oq_head + i) % c->oq_cap];
            size_t off = i ? 0 : c->oq_off;
            iov[k].iov_base = f->bytes + off;
            iov[k].iov_len = f->len - off;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            c->io_failed = true;
            return -1;
        }
        size_t left = (size_t)w;
        while (left && c->oq_n) {
            frame *f = c->oq[c->oq_head];
            size_t rest = f->len - c->oq_off;
            if (left < rest) {
                c->oq_off += left;
                return 0; /* the socket buffer is full */
            }
            left -= rest;
            c->oq_off = 0;
            c->oq_bytes -= f->len;
            frame_unref(f);
            c->oq_head = (c->oq_head + 1) % c->oq_cap;
            c->oq_n--;
        }
    }
    oq_drop(c, 0);
    return 0;
}

static void conn_send_json(conn *c, json_t *env)
{
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (text) {
        conn_send(c, text, strlen(text));
        free(text);
    }
}

static void send_error(conn *c, json_t *id, const char *code, const char *message)
{
    conn_send_json(c, json_pack("{s:s, s:O?, s:{s:s, s:s}}", "type", "error", "id", id, "data",
                                "code", code, "message", message));
}

/* Draws the command's budget for the sender; answers rate_limited when it is spent. Runs before
 * anything is queued, so a refused command costs no worker and no database write. */
static bool budget_allows(conn *c, const command *cmd, json_t *id)
{
    int64_t wait_ms = 0;
    if (!cmd->budget || ws_budget_take(cmd->budget, atomic_load(&c->user_id), &wait_ms))
        return true;
    char message[160];
    json_t *details = ws_budget_refusal(cmd->budget, wait_ms, message, sizeof message);
    conn_send_json(c, json_pack("{s:s, s:O?, s:{s:s, s:s, s:o}}", "type", "error", "id", id, "data",
                                "code", "rate_limited", "message", message, "details", details));
    return false;
}

static void conn_destroy(conn *c)
{
    if (atomic_load(&c->closed))
        return;
    atomic_store(&c->closed, true);
    hub_thread *t = c->t;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    conn_detach(c);
    int code = ws_close_sent(c) ? wslay_event_get_status_code_sent(c->ws) : 0;
    size_t k = 0;
    while (k < N_METRIC_CODES && metric_codes[k] != code)
        k++;
    atomic_fetch_add_explicit(&closes_by_code[k], 1, memory_order_relaxed);
    if (c->ws)
        ws_release(c);
    oq_drop(c, 0);
    free(c->oq);
    c->oq = NULL;
    if (c->release)
        c->release(c->release_arg);
    else
        close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&hub.n_conns, 1);
    conn_unref(c); /* the thread's reference */
}

/* Flushes what wslay has queued, ends the connection once both directions are done, and keeps
 * the epoll interest in step with what wslay wants. */
static void conn_service(conn *c)
{
    if (atomic_load(&c->closed) || c->draining)
        return;
    if (ws_close_received(c))
        conn_detach(c);
    /* a half-written frame of ours goes first, then wslay's control frames, then our queue */
    if (c->oq_off && oq_flush(c) < 0) {
        conn_destroy(c);
        return;
    }
    if (!c->oq_off && ws_want_write(c) && wslay_event_send(c->ws) != 0) {
        conn_destroy(c);
        return;
    }
    if (ws_close_sent(c))
        oq_drop(c, c->oq_off ? 1 : 0); /* never begun: the client forgoes them after a close */
    if (c->oq_n && !ws_want_write(c) && oq_flush(c) < 0) {
        conn_destroy(c);
        return;
    }
    if (c->close_pending && !c->oq_n) {
        c->close_pending = false;
        wslay_event_queue_close(conn_ws(c), c->close_code, (const uint8_t *)c->close_reason,
                                strlen(c->close_reason));
        free(c->close_reason);
        c->close_reason = NULL;
        if (wslay_event_send(c->ws) != 0) {
            conn_destroy(c);
            return;
        }
    }
    int want_read = ws_want_read(c), want_write = ws_want_write(c) || c->oq_n;
    if (!want_read && !want_write) {
        /* Closing a socket with unread input makes the kernel send a reset, which can destroy
         * the close frame still in flight to the client (a slow consumer has plenty unread):
         * shut the write side and read to EOF for a moment first. */
        if (c->io_failed || shutdown(c->fd, SHUT_WR) < 0) {
            conn_destroy(c);
            return;
        }
        conn_detach(c);
        c->draining = true;
        c->closing = true;
        c->close_deadline_ms = c->t->now + CLOSE_LINGER_MS;
        want_read = 1;
    }
    uint32_t mask = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
    if (mask != c->epoll_mask) {
        struct epoll_event ev = {.events = mask, .data.ptr = c};
        epoll_ctl(c->t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->epoll_mask = mask;
    }
}

/* A bus delivery, on the publisher's thread: copy and wake the owner. */
static void deliver(void *ctx, const char *topic, const char *msg, size_t len)
{
    conn *c = ctx;
    if (atomic_load_explicit(&c->closed, memory_order_relaxed))
        return;
    mail_push(c->t, mail_new(c, MAIL_SEND, msg, len));
}

/* A message on the socket's session topic, on the publisher's thread: the session was revoked.
 * The flag refuses commands from now on (workers read it too); the close follows by mail. */
static void deliver_revoked(void *ctx, const char *topic, const char *msg, size_t len)
{
    static const char reason[] = "session revoked";
    conn *c = ctx;
    atomic_store(&c->revoked, true);
    if (atomic_load_explicit(&c->closed, memory_order_relaxed))
        return;
    mail *m = mail_new(c, MAIL_CLOSE, reason, sizeof reason - 1);
    m->a = WS_CLOSE_SESSION_REVOKED;
    mail_push(c->t, m);
    (void)topic, (void)msg, (void)len;
}

static void apply_auth(conn *c, int64_t user, int64_t session_id, int64_t expires_ms)
{
    if (c->closing || atomic_load(&c->closed) || atomic_load(&c->detached) || user <= 0)
        return;
    int64_t cur = atomic_load(&c->user_id);
    if (cur && cur != user)
        return; /* one socket, one account: the auth command refuses this before */
    if (!cur) {
        char topic[TOPIC_MAX];
        topic_user(topic, user);
        atomic_store(&c->user_id, user);
        if (session_change(user, +1))
            session_notify(user, true);
        c->user_sub = bus_subscribe(topic, deliver, c);
    }
    if (session_id && session_id != c->session_id) {
        /* a token of another session of the same account moves the socket to that session */
        char topic[TOPIC_MAX];
        topic_session(topic, session_id);
        bus_unsubscribe(c->session_sub);
        c->session_sub = bus_subscribe(topic, deliver_revoked, c);
        c->session_id = session_id;
    }
    c->expires_ms = expires_ms;
    c->expiring_sent = false;
}

/* ---- incoming messages -------------------------------------------------------------------- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((b & 0xE0) == 0xC0) {
            k = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            k = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            k = 3;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

static void call_finish(ws_call *call)
{
    if (!call->answered)
        ws_call_error(call, "internal_error", "the command produced no reply");
    json_decref(call->msg);
    conn_unref(call->c);
    free(call);
}

/* Runs a command as a SERVER span of its own ("ws <type>", a new trace: a socket's commands
 * carry no traceparent), current while it runs so its SQL nests under it. */
static void call_command(ws_call *call)
{
    if (trace_enabled()) {
        char name[80];
        snprintf(name, sizeof name, "ws %s", call->type);
        call->span = trace_begin(name, TRACE_SERVER, NULL);
        trace_set_str(call->span, "streamhub.ws.command", call->type);
        int64_t user_id = atomic_load(&call->c->user_id);
        char user[24];
        snprintf(user, sizeof user, "%lld", (long long)user_id);
        if (user_id)
            trace_set_str(call->span, "user.id", user);
    }
    trace_span *outer = trace_swap_current(call->span);
    call->cmd->fn(call);
    trace_swap_current(outer);
    trace_end(call->span);
    call->span = NULL;
}

static void run_call(void *task, void *ctx)
{
    ws_call *call = task;
    call->ctx = ctx;
    /* queued before the session was revoked, run after: refused like one sent afterwards */
    if (atomic_load(&call->c->revoked))
        ws_call_error(call, "session_revoked", "this session has ended");
    else
        call_command(call);
    atomic_fetch_sub(&call->c->inflight, 1);
    call_finish(call);
}

static void handle_text(conn *c, const uint8_t *p, size_t n)
{
    json_error_t jerr;
    json_t *msg = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg || !json_is_object(msg)) {
        json_decref(msg);
        send_error(c, NULL, "malformed_json", "a message must be a JSON object");
        return;
    }
    json_t *type = json_object_get(msg, "type"), *id = json_object_get(msg, "id");
    json_t *data = json_object_get(msg, "data");
    if (id && !json_is_string(id) && !json_is_null(id)) {
        send_error(c, NULL, "invalid_message", "id must be a string");
        goto done;
    }
    if (!json_is_string(type)) {
        send_error(c, id, "invalid_message", "type must be a string");
        goto done;
    }
    if (data && !json_is_object(data) && !json_is_null(data)) {
        send_error(c, id, "invalid_message", "data must be an object");
        goto done;
    }
    const command *cmd = command_find(json_string_value(type));
    if (!cmd) {
        send_error(c, id, "unknown_type", "no such message type");
        goto done;
    }
    if (!atomic_load(&c->user_id) && !(cmd->flags & WS_CMD_ANONYMOUS)) {
        send_error(c, id, "unauthenticated", "send an auth message first");
        goto done;
    }
    if (atomic_load(&c->revoked)) { /* the close is on its way */
        send_error(c, id, "session_revoked", "this session has ended");
        goto done;
    }
    if (!budget_allows(c, cmd, id))
        goto done;
    if (!json_is_object(data)) {
        data = json_object();
        json_object_set_new(msg, "data", data);
    }
    ws_call *call = xcalloc(1, sizeof *call);
    call->c = c;
    call->cmd = cmd;
    call->msg = msg;
    call->data = data;
    call->type = cmd->type;
    conn_ref(c);
    msg = NULL;
    if (!(cmd->flags & WS_CMD_BLOCKING)) {
        call_command(call);
        call_finish(call);
        return;
    }
    if (atomic_load(&c->inflight) >= MAX_INFLIGHT) {
        ws_call_error(call, "too_many_requests", "too many requests in flight on this socket");
        call_finish(call);
        return;
    }
    atomic_fetch_add(&c->inflight, 1);
    if (pool_submit(hub.workers, run_call, call) < 0) {
        atomic_fetch_sub(&c->inflight, 1);
        ws_call_error(call, "overloaded", "server is busy, retry shortly");
        call_finish(call);
    }
    return;
done:
    json_decref(msg);
}

/* A close body is empty or starts with a two-byte code (RFC 6455 5.5.1). wslay answers a
 * one-byte body with an empty close, as if it were valid, and does so before on_msg_cb runs; a
 * close queued here, as the frame starts, is sent instead (wslay queues only one). It must
 * overtake queued data: the peer has closed, so nothing after its close would be read. */
static void on_frame_start_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    conn *c = user;
    (void)ctx;
    uint64_t n = arg->payload_length;
    c->rx_unframed -= (int64_t)(2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4 + n); /* masked */
    if (arg->opcode < 8) /* text, binary or continuation; control frames may come in between */
        c->msg_open = !arg->fin;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1)
        conn_close_ex(c, 1002, "a close frame's body is empty or a two-byte code", true);
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    conn *c = user;
    if (c->closing)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        atomic_fetch_add_explicit(&msgs_in, 1, memory_order_relaxed);
        if (!utf8_valid(arg->msg, arg->msg_length)) {
            conn_close(c, 1007, "text message is not valid UTF-8");
            return;
        }
        handle_text(c, arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        conn_close(c, 1003, "binary messages are not accepted");
    }
    /* ping, pong and close are answered by wslay itself */
}

/* ---- the calls' API (ws.h) ---------------------------------------------------------------- */

int64_t ws_call_user(ws_call *c)
{
    return atomic_load(&c->c->user_id);
}

uint64_t ws_call_connection(ws_call *c)
{
    return c->c->id;
}

const char *ws_call_type(ws_call *c)
{
    return c->type;
}

json_t *ws_call_data(ws_call *c)
{
    return c->data;
}

void *ws_call_ctx(ws_call *c)
{
    return c->ctx;
}

/* Sends text to the call's socket: directly on its own thread, by mail from anywhere else. */
static void call_send(ws_call *call, json_t *env)
{
    conn *c = call->c;
    if (on_own_thread(c)) {
        conn_send_json(c, env);
        return;
    }
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!text)
        return;
    mail_push(c->t, mail_new(c, MAIL_SEND, text, strlen(text)));
    free(text);
}

static bool call_answer_once(ws_call *c)
{
    if (c->answered) {
        log_warn("ws command answered twice", "\"type\":\"%s\"", c->type);
        return false;
    }
    c->answered = true;
    return true;
}

void ws_call_ack(ws_call *c, json_t *data)
{
    if (!call_answer_once(c)) {
        json_decref(data);
        return;
    }
    call_send(c, json_pack("{s:s, s:O?, s:o}", "type", "ack", "id", json_object_get(c->msg, "id"),
                           "data", data ? data : json_object()));
}

void ws_call_error(ws_call *c, const char *code, const char *message)
{
    if (!call_answer_once(c))
        return;
    trace_set_error(c->span, code);
    call_send(c,
              json_pack("{s:s, s:O?, s:{s:s, s:s}}", "type", "error", "id",
                        json_object_get(c->msg, "id"), "data", "code", code, "message", message));
}

void ws_call_error_details(ws_call *c, const char *code, const char *message, json_t *details)
{
    if (!details) {
        ws_call_error(c, code, message);
        return;
    }
    if (!call_answer_once(c)) {
        json_decref(details);
        return;
    }
    trace_set_error(c->span, code);
    call_send(c, json_pack("{s:s, s:O?, s:{s:s, s:s, s:o}}", "type", "error", "id",
                           json_object_get(c->msg, "id"), "data", "code", code, "message", message,
                           "details", details));
}

void ws_call_set_user(ws_call *call, int64_t user_id, int64_t session_id, int64_t expires_ms)
{
    conn *c = call->c;
    if (on_own_thread(c)) {
        apply_auth(c, user_id, session_id, expires_ms);
        return;
    }
    mail *m = mail_new(c, MAIL_AUTH, NULL, 0);
    m->a = user_id;
    m->b = expires_ms;
    m->sid = session_id;
    mail_push(c->t, m);
}

void ws_call_close(ws_call *call, int code, const char *reason)
{
    conn *c = call->c;
    if (on_own_thread(c)) {
        conn_close(c, code, reason);
        return;
    }
    mail *m = mail_new(c, MAIL_CLOSE, reason, strlen(reason));
    m->a = code;
    mail_push(c->t, m);
}

int ws_call_subscribe(ws_call *call, const char *topic)
{
    conn *c = call->c;
    size_t len = strlen(topic);
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->closed) || atomic_load(&c->detached)) {
        rc = ERR_GONE;
        goto out;
    }
    for (topic_sub *t = c->topics; t; t = t->next)
        if (!strcmp(t->name, topic))
            goto out;
    bus_sub *s = bus_subscribe(topic, deliver, c);
    if (!s) {
        rc = ERR_INVALID;
        goto out;
    }
    topic_sub *t = xmalloc(sizeof *t + len + 1);
    memcpy(t->name, topic, len + 1);
    t->sub = s;
    t->next = c->topics;
    c->topics = t;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void ws_call_unsubscribe(ws_call *call, const char *topic)
{
    conn *c = call->c;
    topic_sub *found = NULL;
    pthread_mutex_lock(&c->mu);
    for (topic_sub **p = &c->topics; *p; p = &(*p)->next)
        if (!strcmp((*p)->name, topic)) {
            found = *p;
            *p = found->next;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    if (found) {
        bus_unsubscribe(found->sub);
        free(found);
    }
}

size_t ws_user_unsubscribe(int64_t user_id, const char *topic)
{
    /* collect the user's sockets under the registry lock (a reference each keeps them alive),
     * then drop the topic from each under its own lock, as ws_call_unsubscribe does */
    conn **found = NULL;
    size_t n = 0, cap = 0, dropped = 0;
    pthread_rwlock_rdlock(&registry_lock);
    for (size_t b = 0; b < CONN_BUCKETS; b++)
        for (conn *c = registry[b]; c; c = c->id_next) {
            if (atomic_load(&c->user_id) != user_id)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                found = xrealloc(found, cap * sizeof *found);
            }
            conn_ref(c);
            found[n++] = c;
        }
    pthread_rwlock_unlock(&registry_lock);
    for (size_t i = 0; i < n; i++) {
        conn *c = found[i];
        topic_sub *t = NULL;
        pthread_mutex_lock(&c->mu);
        for (topic_sub **p = &c->topics; *p; p = &(*p)->next)
            if (!strcmp((*p)->name, topic)) {
                t = *p;
                *p = t->next;
                break;
            }
        pthread_mutex_unlock(&c->mu);
        if (t) {
            bus_unsubscribe(t->sub);
            free(t);
            dropped++;
        }
        conn_unref(c);
    }
    free(found);
    return dropped;
}

size_t ws_send_connections(const uint64_t *ids, size_t n, const char *msg, size_t len,
                           uint64_t *gone, size_t *n_gone)
{
    size_t open = 0, dead = 0;
    if (!hub.threads || !n) {
        for (size_t i = 0; i < n; i++)
            if (gone)
                gone[dead++] = ids[i];
        if (n_gone)
            *n_gone = dead;
        return 0;
    }
    int nt = hub.n_threads;
    mail **per = xcalloc((size_t)nt, sizeof *per);
    frame *f = frame_new(msg, len);
    pthread_rwlock_rdlock(&registry_lock);
    for (size_t i = 0; i < n; i++) {
        conn *c = registry[id_bucket(ids[i])];
        while (c && c->id != ids[i])
            c = c->id_next;
        if (!c || atomic_load_explicit(&c->detached, memory_order_relaxed)) {
            if (gone)
                gone[dead++] = ids[i];
            continue;
        }
        int k = (int)(c->t - hub.threads);
        mail *m = per[k];
        if (!m) {
            m = per[k] = xcalloc(1, sizeof *m);
            m->kind = MAIL_FANOUT;
            m->conns = xmalloc((n - i) * sizeof *m->conns); /* at most the rest */
        }
        conn_ref(c); /* under the registry lock: c cannot be freed meanwhile */
        m->conns[m->n_conns++] = c;
        open++;
    }
    pthread_rwlock_unlock(&registry_lock);
    for (int k = 0; k < nt; k++)
        if (per[k]) {
            atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
            per[k]->f = f;
            mail_push(&hub.threads[k], per[k]);
        }
    frame_unref(f);
    free(per);
    if (n_gone)
        *n_gone = dead;
    return open;
}

/* ---- the event loop ----------------------------------------------------------------------- */

static void drain_input(conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t r = recv(c->fd, sink, sizeof sink, 0);
        if (r > 0)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0 && errno == EINTR)
            continue;
        conn_destroy(c); /* EOF: the client has everything */
        return;
    }
}

static void conn_io(conn *c, uint32_t events)
{
    if (atomic_load(&c->closed))
        return;
    if (c->draining) {
        drain_input(c);
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && ws_want_read(c)) {
        int rc = wslay_event_recv(conn_ws(c));
        if (rc != 0) {
            /* Some violations (a fragmented control frame) make wslay fail outright instead
             * of queueing the 1002 itself; after that the context may not be used, so the
             * close frame is written by hand, best effort, just before the connection ends.
             * A failure of our own socket I/O needs no close frame. */
            if (!c->io_failed && !ws_close_sent(c)) {
                static const unsigned char proto_close[] = {0x88, 0x02, 0x03, 0xEA};
                ssize_t w = send(c->fd, proto_close, sizeof proto_close, MSG_NOSIGNAL);
                (void)w;
            }
            conn_destroy(c);
            return;
        }
    } else if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLOUT)) {
        conn_destroy(c);
        return;
    }
    conn_service(c);
}

static void adopt(hub_thread *t, conn *c, int64_t user, int64_t session_id, int64_t expires_ms)
{
    c->opened_ms = c->last_rx_ms = c->last_ping_ms = t->now;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->epoll_mask = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        c->release(c->release_arg);
        atomic_store(&c->closed, true);
        atomic_fetch_sub(&hub.n_conns, 1);
        conn_unref(c);
        return;
    }
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    pthread_rwlock_wrlock(&registry_lock);
    c->id_next = registry[id_bucket(c->id)];
    registry[id_bucket(c->id)] = c;
    pthread_rwlock_unlock(&registry_lock);
    c->registered = true;
    atomic_fetch_add_explicit(&opened_total, 1, memory_order_relaxed);
    if (user) {
        apply_auth(c, user, session_id, expires_ms);
        /* header-authenticated: tell the client what the auth ack would have */
        char uid[24], cid[24];
        snprintf(uid, sizeof uid, "%lld", (long long)user);
        snprintf(cid, sizeof cid, "%llu", (unsigned long long)c->id);
        int64_t left = expires_ms ? (expires_ms - now_ms() + 999) / 1000 : 0;
        conn_send_json(c, json_pack("{s:s, s:{s:s, s:s, s:I}}", "type", "ready", "data", "user_id",
                                    uid, "connection_id", cid, "expires_in",
                                    (json_int_t)(left > 0 ? left : 0)));
    }
    if (c->extra)
        conn_io(c, EPOLLIN);
    else
        conn_service(c);
}

static void mark_dirty(conn **list, conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    conn_ref(c);
    c->dirty_next = *list;
    *list = c;
}

static void drain_mail(hub_thread *t)
{
    pthread_mutex_lock(&t->mu);
    mail *m = t->head;
    t->head = t->tail = NULL;
    pthread_mutex_unlock(&t->mu);
    conn *dirty = NULL;
    while (m) {
        mail *next = m->next;
        conn *c = m->c;
        if (m->kind == MAIL_FANOUT) {
            for (size_t i = 0; i < m->n_conns; i++) {
                conn *r = m->conns[i];
                if (!atomic_load(&r->closed)) {
                    conn_enqueue(r, m->f);
                    mark_dirty(&dirty, r);
                }
                conn_unref(r);
            }
            frame_unref(m->f);
            free(m->conns);
            free(m);
            m = next;
            continue;
        }
        if (m->kind == MAIL_ADOPT) {
            adopt(t, c, m->a, m->sid, m->b);
        } else if (!atomic_load(&c->closed)) {
            if (m->kind == MAIL_SEND)
                conn_send(c, m->data, m->len);
            else if (m->kind == MAIL_AUTH)
                apply_auth(c, m->a, m->sid, m->b);
            else if (m->kind == MAIL_CLOSE)
                conn_close(c, (int)m->a, m->data);
            mark_dirty(&dirty, c);
        }
        conn_unref(c);
        free(m);
        m = next;
    }
    /* one flush per socket per drain: a burst of messages leaves in one sendmsg */
    while (dirty) {
        conn *c = dirty;
        dirty = c->dirty_next;
        c->dirty = false;
        conn_service(c);
        conn_unref(c);
    }
}

static void send_expiring(conn *c, int64_t wall)
{
    int64_t left = (c->expires_ms - wall + 999) / 1000;
    conn_send_json(c, json_pack("{s:s, s:{s:I}}", "type", "auth.expiring", "data", "expires_in",
                                (json_int_t)(left > 0 ? left : 0)));
    c->expiring_sent = true;
}

static void tick(hub_thread *t)
{
    int64_t now = t->now, wall = now_ms();
    int64_t idle = (int64_t)hub.o.idle_timeout_s * 1000,
            ping = (int64_t)hub.o.ping_interval_s * 1000;
    for (conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing) {
            if (now >= c->close_deadline_ms)
                conn_destroy(c);
            continue;
        }
        int64_t user = atomic_load(&c->user_id);
        if (!user && now - c->opened_ms >= (int64_t)hub.o.auth_timeout_s * 1000) {
            conn_close(c, WS_CLOSE_AUTH_FAILED, "authentication timed out");
        } else if (now - c->last_rx_ms >= idle) {
            conn_close(c, WS_CLOSE_IDLE, "idle timeout");
        } else if (user && c->expires_ms && wall >= c->expires_ms) {
            conn_close(c, WS_CLOSE_TOKEN_EXPIRED, "access token expired");
        } else {
            if (user && c->expires_ms && !c->expiring_sent &&
                wall >= c->expires_ms - (int64_t)hub.o.auth_grace_s * 1000)
                send_expiring(c, wall);
            if (now - c->last_rx_ms >= ping && now - c->last_ping_ms >= ping) {
                struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
                wslay_event_queue_msg(conn_ws(c), &m);
                c->last_ping_ms = now;
            }
        }
        if (ws_quiet(c) && now - c->last_rx_ms >= WS_RELEASE_MS)
            ws_release(c);
        if (ws_want_write(c) || c->oq_n || c->closing)
            conn_service(c);
    }
    trim_after_burst(now);
}

static void *hub_main(void *arg)
{
    hub_thread *t = arg;
    struct epoll_event evs[256];
    t->now = mono_ms();
    int64_t next_tick = t->now + TICK_MS;
    int64_t stop_deadline = 0;
    for (;;) {
        if (atomic_load(&t->stop) && !stop_deadline) {
            /* going away: every socket gets 1001 and a moment to finish its handshake (those
             * still in the inbox included) */
            drain_mail(t);
            for (conn *c = t->conns, *next; c; c = next) {
                next = c->next;
                conn_close(c, 1001, "server shutting down");
                conn_service(c);
            }
            stop_deadline = t->now + 2000;
        }
        if (stop_deadline && (!t->conns || t->now >= stop_deadline))
            break;
        int timeout = (int)(next_tick - t->now);
        if (timeout < 0)
            timeout = 0;
        if (stop_deadline && timeout > 50)
            timeout = 50;
        int n = epoll_wait(t->epfd, evs, 256, timeout);
        t->now = mono_ms();
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                uint64_t v;
                ssize_t r = read(t->evfd, &v, sizeof v);
                (void)r;
                continue;
            }
            conn_io(evs[i].data.ptr, evs[i].events);
        }
        drain_mail(t);
        if (t->now >= next_tick) {
            tick(t);
            next_tick = t->now + TICK_MS;
        }
    }
    while (t->conns)
        conn_destroy(t->conns);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void ws_hub_adopt(int fd, const char *extra, size_t extra_len, ws_release_fn release,
                  void *release_arg, int64_t user_id, int64_t session_id, int64_t expires_ms)
{
    pthread_rwlock_rdlock(&adopt_lock);
    if (!atomic_load(&hub.running) || fd < 0 || !release) {
        pthread_rwlock_unlock(&adopt_lock);
        if (release)
            release(release_arg);
        return;
    }
    conn *c = xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->fd = fd;
    c->release = release;
    c->release_arg = release_arg;
    c->id = atomic_fetch_add(&next_conn_id, 1);
    pthread_mutex_init(&c->mu, NULL);
    if (extra_len) {
        c->extra = xmalloc(extra_len);
        memcpy(c->extra, extra, extra_len);
        c->extra_len = extra_len;
    }
    unsigned k = atomic_fetch_add(&hub.rr, 1) % (unsigned)hub.n_threads;
    c->t = &hub.threads[k];
    atomic_fetch_add(&hub.n_conns, 1);
    mail *m = mail_new(c, MAIL_ADOPT, NULL, 0); /* c keeps refs: the thread's and the mail's */
    m->a = user_id;
    m->b = expires_ms;
    m->sid = session_id;
    mail_push(c->t, m);
    pthread_rwlock_unlock(&adopt_lock);
}

size_t ws_hub_connections(void)
{
    return atomic_load(&hub.n_conns);
}

void ws_hub_metrics(buf *out)
{
    buf_printf(out,
               "# HELP streamhub_ws_connections WebSocket connections open on this node.\n"
               "# TYPE streamhub_ws_connections gauge\n"
               "streamhub_ws_connections %zu\n"
               "# HELP streamhub_ws_opened_total WebSocket connections taken over by the hub.\n"
               "# TYPE streamhub_ws_opened_total counter\n"
               "streamhub_ws_opened_total %llu\n"
               "# HELP streamhub_ws_messages_total WebSocket text messages by direction.\n"
               "# TYPE streamhub_ws_messages_total counter\n"
               "streamhub_ws_messages_total{direction=\"in\"} %llu\n"
               "streamhub_ws_messages_total{direction=\"out\"} %llu\n"
               "# HELP streamhub_ws_sent_bytes_total Payload bytes queued to WebSocket clients.\n"
               "# TYPE streamhub_ws_sent_bytes_total counter\n"
               "streamhub_ws_sent_bytes_total %llu\n"
               "# HELP streamhub_ws_closed_total Closed WebSockets by the close code the server "
               "sent (0: none).\n"
               "# TYPE streamhub_ws_closed_total counter\n",
               ws_hub_connections(), (unsigned long long)atomic_load(&opened_total),
               (unsigned long long)atomic_load(&msgs_in),
               (unsigned long long)atomic_load(&msgs_out),
               (unsigned long long)atomic_load(&bytes_out));
    for (size_t k = 0; k <= N_METRIC_CODES; k++) {
        uint64_t v = atomic_load(&closes_by_code[k]);
        if (!v)
            continue;
        if (k < N_METRIC_CODES)
            buf_printf(out, "streamhub_ws_closed_total{code=\"%d\"} %llu\n", metric_codes[k],
                       (unsigned long long)v);
        else
            buf_printf(out, "streamhub_ws_closed_total{code=\"other\"} %llu\n",
                       (unsigned long long)v);
    }
    buf_printf(out,
               "# HELP streamhub_bus_published_total Messages published on the bus.\n"
               "# TYPE streamhub_bus_published_total counter\n"
               "streamhub_bus_published_total %llu\n"
               "# HELP streamhub_bus_delivered_total Bus deliveries to subscribers on this node.\n"
               "# TYPE streamhub_bus_delivered_total counter\n"
               "streamhub_bus_delivered_total %llu\n",
               (unsigned long long)bus_published(), (unsigned long long)bus_delivered());
    if (!strcmp(bus_backend_name(), "inproc"))
        return;
    bus_status bs;
    bus_status_get(&bs);
    buf_printf(out,
               "# HELP streamhub_bus_connected Whether the cross-node bus (Redis) is connected.\n"
               "# TYPE streamhub_bus_connected gauge\n"
               "streamhub_bus_connected{backend=\"%s\"} %d\n"
               "# HELP streamhub_bus_reconnects_total Connections to the bus made again after a "
               "loss.\n"
               "# TYPE streamhub_bus_reconnects_total counter\n"
               "streamhub_bus_reconnects_total %llu\n"
               "# HELP streamhub_bus_publish_failures_total Publishes dropped: the bus was down or "
               "the command failed.\n"
               "# TYPE streamhub_bus_publish_failures_total counter\n"
               "streamhub_bus_publish_failures_total %llu\n"
               "# HELP streamhub_bus_resyncs_total resync events sent to local sockets and event "
               "streams after a reconnect.\n"
               "# TYPE streamhub_bus_resyncs_total counter\n"
               "streamhub_bus_resyncs_total %llu\n",
               bus_backend_name(), bs.connected ? 1 : 0, (unsigned long long)bs.reconnects,
               (unsigned long long)bs.publish_failures, (unsigned long long)bs.resyncs);
}

int ws_hub_start(const ws_hub_options *opts, char *err, size_t err_size)
{
    hub.o = *opts;
    hub.n_threads = opts->threads > 0 ? opts->threads : 1;
    hub.threads = xcalloc((size_t)hub.n_threads, sizeof *hub.threads);
    hub.workers =
        pool_create(&(pool_options){.name = "sh-ws-worker",
                                    .threads = opts->workers > 0 ? opts->workers : 1,
                                    .queue_limit = opts->queue_limit ? opts->queue_limit : 4096,
                                    .thread_init = opts->thread_init,
                                    .thread_done = opts->thread_done,
                                    .arg = opts->app});
    atomic_store(&hub.running, true);
    for (int i = 0; i < hub.n_threads; i++) {
        hub_thread *t = &hub.threads[i];
        pthread_mutex_init(&t->mu, NULL);
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (t->epfd < 0 || t->evfd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &ev) < 0 ||
            pthread_create(&t->tid, NULL, hub_main, t) != 0) {
            snprintf(err, err_size, "cannot start the WebSocket hub: %s", strerror(errno));
            hub.n_threads = i; /* the ones started are stopped by ws_hub_stop */
            ws_hub_stop();
            return ERR_INTERNAL;
        }
    }
    return 0;
}

void ws_hub_stop(void)
{
    if (!hub.threads)
        return;
    pthread_rwlock_wrlock(&adopt_lock);
    atomic_store(&hub.running, false);
    pthread_rwlock_unlock(&adopt_lock);
    for (int i = 0; i < hub.n_threads; i++) {
        atomic_store(&hub.threads[i].stop, true);
        uint64_t one = 1;
        ssize_t w = write(hub.threads[i].evfd, &one, sizeof one);
        (void)w;
    }
    for (int i = 0; i < hub.n_threads; i++)
        pthread_join(hub.threads[i].tid, NULL);
    /* calls still queued run now; their replies land in inboxes nobody reads any more */
    pool_destroy(hub.workers);
    hub.workers = NULL;
    for (int i = 0; i < hub.n_threads; i++) {
        hub_thread *t = &hub.threads[i];
        pthread_mutex_lock(&t->mu);
        mail *m = t->head;
        t->head = t->tail = NULL;
        pthread_mutex_unlock(&t->mu);
        while (m) {
            mail *next = m->next;
            if (m->kind == MAIL_FANOUT) {
                for (size_t k = 0; k < m->n_conns; k++)
                    conn_unref(m->conns[k]);
                frame_unref(m->f);
                free(m->conns);
                free(m);
                m = next;
                continue;
            }
            if (m->kind == MAIL_ADOPT) { /* arrived after the loop ended */
                m->c->release(m->c->release_arg);
                atomic_store(&m->c->closed, true);
                atomic_fetch_sub(&hub.n_conns, 1);
                conn_unref(m->c); /* the reference the thread never took */
            }
            conn_unref(m->c);
            free(m);
            m = next;
        }
        close(t->epfd);
        close(t->evfd);
        pthread_mutex_destroy(&t->mu);
    }
    free(hub.threads);
    hub.threads = NULL;
}

/* ---- handshake ---------------------------------------------------------------------------- */

bool ws_handshake_accept(const char *key, char out[WS_ACCEPT_LEN])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char raw[32];
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!key || strlen(key) != 24 || strspn(key, alphabet) != 22 ||
        EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18 || key[22] != '=' ||
        key[23] != '=')
        return false; /* 16 bytes encode to 22 characters and "==" */
    char text[24 + sizeof guid];
    memcpy(text, key, 24);
    memcpy(text + 24, guid, sizeof guid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_Digest(text, 24 + sizeof guid - 1, digest, &dlen, EVP_sha1(), NULL) || dlen != 20)
        return false;
    EVP_EncodeBlock((unsigned char *)out, digest, 20);
    return true;
}

/* SPDX-License-Identifier: MIT
 *
 * Delivers queued outbox messages through the configured adapter: `log` writes them to the log
 * (development), `webhook` POSTs the message JSON to a URL (how an SMS/WhatsApp gateway or a mail
 * relay is wired), `smtp` sends email with libcurl. Failed deliveries are retried with
 * exponential backoff; after the last attempt the message is marked failed with its error.
 */
#ifndef STREAMHUB_JOBS_OUTBOX_WORKER_H
#define STREAMHUB_JOBS_OUTBOX_WORKER_H

typedef struct outbox_worker outbox_worker;

typedef struct outbox_options {
    const char *database_url;
    const char *delivery;     /* log | webhook | smtp */
    const char *webhook_url;
    const char *smtp_url;
    const char *smtp_from;
    const char *smtp_user;
    const char *smtp_password;
} outbox_options;

/* Validates the options (err says what is wrong) and starts the delivery thread. */
outbox_worker *outbox_worker_start(const outbox_options *opts, char *err, unsigned long err_size);
/* Wakes the worker now instead of at its next poll; safe from any thread. */
void outbox_worker_wakeup(void *worker);
void outbox_worker_stop(outbox_worker *w);

#endif

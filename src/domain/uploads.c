/* SPDX-License-Identifier: MIT
 *
 * Upload rules: see uploads.h. The bytes of an unfinished upload live in
 * DATA_DIR/uploads/<id>.part; a PATCH body arrives already spooled by the HTTP layer, so it can
 * be checksummed before any of it touches the upload, then copied in by the kernel
 * (copy_file_range) under an exclusive lock on the part file, fsynced, and only then counted.
 */
#include "domain/uploads.h"

#include "core/id.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/errors.h"
#include "domain/media.h"
#include "store/media.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[4096] = "./data/uploads";
static int64_t max_size = 4LL << 30, quota = 20LL << 30, expiry_ms = 86400000;

int uploads_configure(const char *data_dir, int64_t max, int64_t q, int64_t expiry_s)
{
    snprintf(dir, sizeof dir, "%s/uploads", data_dir);
    max_size = max;
    quota = q;
    expiry_ms = expiry_s * 1000;
    return make_dirs(dir) < 0 ? ERR_IO : 0;
}

const char *uploads_dir(void)
{
    return dir;
}

int64_t uploads_max_size(void)
{
    return max_size;
}

static void part_path(int64_t id, char *out, size_t n)
{
    snprintf(out, n, "%s/%lld.part", dir, (long long)id);
}

/* Upload-Metadata: comma-separated "key base64value" pairs (the value may be absent). Checks the
 * format and pulls out the filename. */
static bool parse_metadata(const char *m, char *filename, size_t n)
{
    *filename = '\0';
    if (!m || !*m)
        return true;
    if (strlen(m) >= 2048)
        return false;
    const char *p = m;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t klen = strcspn(p, " ,");
        if (klen == 0)
            return false;
        const char *key = p, *val = p + klen, *vend = val;
        if (*val == ' ') {
            val++;
            vend = val + strcspn(val, ",");
        }
        char decoded[1024];
        size_t dlen = 0;
        if (vend > val && sodium_base642bin((unsigned char *)decoded, sizeof decoded - 1, val,
                                            (size_t)(vend - val), NULL, &dlen, NULL,
                                            sodium_base64_VARIANT_ORIGINAL) != 0)
            return false;
        decoded[dlen] = '\0';
        if (klen == 8 && !strncmp(key, "filename", 8)) {
            size_t keep = dlen < n - 1 ? dlen : n - 1; /* long names are cut, not refused */
            memcpy(filename, decoded, keep);
            filename[keep] = '\0';
        }
        p = vend;
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return true;
}

int uploads_create(db *d, const store_user *me, int64_t length, bool defer, const char *metadata,
                   store_upload *out, domain_error *err)
{
    memset(out, 0, sizeof *out);
    if (!defer && length < 0)
        return domain_fail(err, ERR_INVALID, "length_required",
                           "Upload-Length or Upload-Defer-Length: 1 is required");
    if (length > max_size)
        return domain_fail(err, ERR_TOO_LARGE, "upload_too_large", "the upload is over the size limit");
    if (!parse_metadata(metadata, out->filename, sizeof out->filename))
        return domain_fail(err, ERR_INVALID, "bad_metadata", "Upload-Metadata is malformed");
    int64_t pending = store_upload_pending_bytes(d, me->id);
    if (pending < 0)
        return domain_db_failed(err, d, "uploads");
    if (pending + (length > 0 ? length : 0) > quota)
        return domain_fail(err, ERR_TOO_LARGE, "quota_exceeded",
                           "your unfinished uploads are over the quota");
    out->id = id_next();
    out->owner_id = me->id;
    out->length = defer ? -1 : length;
    snprintf(out->metadata, sizeof out->metadata, "%s", metadata ? metadata : "");
    snprintf(out->state, sizeof out->state, "uploading");
    out->created_at = now_ms();
    out->expires_at = out->created_at + expiry_ms;
    char path[4200];
    part_path(out->id, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the upload");
    close(fd);
    if (store_upload_insert(d, out) < 0) {
        unlink(path);
        return domain_db_failed(err, d, "create upload");
    }
    return 0;
}

int uploads_get_own(db *d, int64_t owner, int64_t id, store_upload *out, domain_error *err)
{
    int rc = store_upload_get(d, id, out);
    if (rc == ERR_NOT_FOUND || (rc == 0 && out->owner_id != owner))
        return domain_fail(err, ERR_NOT_FOUND, "upload_not_found", "no such upload");
    if (rc < 0)
        return domain_db_failed(err, d, "upload");
    if (!strcmp(out->state, "uploading") && out->expires_at < now_ms())
        return domain_fail(err, ERR_GONE, "upload_expired", "the upload has expired");
    return 0;
}

/* Upload-Checksum: "<sha1|sha256> <base64 digest>" checked against the spooled body. */
static int verify_checksum(const char *header, int fd, uint64_t size, domain_error *err)
{
    char algo[16];
    const char *space = strchr(header, ' ');
    if (!space || space - header >= (int)sizeof algo)
        return domain_fail(err, ERR_INVALID, "bad_checksum", "Upload-Checksum is malformed");
    snprintf(algo, sizeof algo, "%.*s", (int)(space - header), header);
    const EVP_MD *md = !strcmp(algo, "sha1") ? EVP_sha1() : !strcmp(algo, "sha256") ? EVP_sha256()
                                                                                    : NULL;
    if (!md)
        return domain_fail(err, ERR_INVALID, "checksum_algorithm_unsupported",
                           "Upload-Checksum must use sha1 or sha256");
    unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    size_t want_len = 0;
    unsigned got_len = 0;
    if (sodium_base642bin(want, sizeof want, space + 1, strlen(space + 1), NULL, &want_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return domain_fail(err, ERR_INVALID, "bad_checksum", "Upload-Checksum is malformed");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md, NULL);
    char chunk[65536];
    uint64_t at = 0;
    while (at < size) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)at);
        if (n <= 0)
            break;
        EVP_DigestUpdate(ctx, chunk, (size_t)n);
        at += (uint64_t)n;
    }
    EVP_DigestFinal_ex(ctx, got, &got_len);
    EVP_MD_CTX_free(ctx);
    if (at != size || want_len != got_len || sodium_memcmp(want, got, got_len) != 0)
        return domain_fail(err, ERR_CHECKSUM, "checksum_mismatch",
                           "the body does not match Upload-Checksum");
    return 0;
}

/* Copies size bytes of body (from 0) into the part file at offset and makes them durable. */
static int write_at(int part, int body, int64_t offset, uint64_t size)
{
    loff_t in = 0, out = offset;
    while (size > 0) {
        ssize_t n = copy_file_range(body, &in, part, &out, size, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        size -= (uint64_t)n;
    }
    return fsync(part);
}

/* The last byte is in: the file becomes the owner's media (which takes it over). */
static int finish(db *d, const store_user *me, store_upload *u, domain_error *err)
{
    char path[4200];
    part_path(u->id, path, sizeof path);
    store_media m;
    int rc = media_ingest(d, me, path, u->filename[0] ? u->filename : "upload", true, &m, err);
    if (rc < 0) {
        /* nothing to resume: the file itself is refused */
        store_upload_delete(d, u->id);
        unlink(path);
        return rc;
    }
    if (store_upload_complete(d, u->id, m.id) < 0)
        return domain_db_failed(err, d, "complete upload");
    snprintf(u->state, sizeof u->state, "complete");
    u->media_id = m.id;
    return 0;
}

int uploads_append(db *d, const store_user *me, int64_t id, int64_t offset, int body_fd,
                   uint64_t size, bool cut, const char *checksum, int64_t length, store_upload *out,
                   domain_error *err)
{
    int rc = uploads_get_own(d, me->id, id, out, err);
    if (rc < 0)
        return rc;
    if (strcmp(out->state, "uploading") != 0)
        return domain_fail(err, ERR_GONE, "upload_finished", "the upload is already complete");
    if (length >= 0) {
        if (out->length >= 0 && length != out->length)
            return domain_fail(err, ERR_INVALID, "length_mismatch",
                               "Upload-Length differs from the upload's length");
        if (length > max_size)
            return domain_fail(err, ERR_TOO_LARGE, "upload_too_large",
                               "the upload is over the size limit");
        out->length = length;
    }
    if (offset != out->offset)
        return domain_fail(err, ERR_CONFLICT, "offset_mismatch",
                           "Upload-Offset is not the upload's current offset");
    if ((out->length >= 0 && (uint64_t)offset + size > (uint64_t)out->length) ||
        (uint64_t)offset + size > (uint64_t)max_size)
        return domain_fail(err, ERR_TOO_LARGE, "upload_too_large", "the body goes past the length");
    /* A digest covers the whole body, so the prefix of a cut one cannot be checked: the
     * checksum extension says to discard it then. */
    if (cut && checksum)
        return domain_fail(err, ERR_CHECKSUM, "checksum_unverifiable",
                           "the body was cut short, so Upload-Checksum cannot be verified");
    if (checksum && size > 0 && (rc = verify_checksum(checksum, body_fd, size, err)) < 0)
        return rc;
    char path[4200];
    part_path(id, path, sizeof path);
    int part = open(path, O_WRONLY | O_CLOEXEC);
    if (part < 0)
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the upload");
    /* one PATCH at a time per upload, across threads and processes */
    if (flock(part, LOCK_EX | LOCK_NB) < 0) {
        close(part);
        return domain_fail(err, ERR_CONFLICT, "upload_busy",
                           "another request is writing this upload");
    }
    /* Checked again under the lock: a request that checked before another one appended must
     * not overwrite bytes that are already counted. */
    store_upload now;
    if (store_upload_get(d, id, &now) < 0 || now.offset != offset ||
        strcmp(now.state, "uploading") != 0) {
        close(part);
        return domain_fail(err, ERR_CONFLICT, "offset_mismatch", "the offset moved meanwhile");
    }
    rc = size > 0 ? write_at(part, body_fd, offset, size) : 0;
    if (rc < 0) {
        close(part);
        return domain_fail(err, ERR_IO, "storage_failed", "cannot store the upload");
    }
    int64_t expires = now_ms() + expiry_ms;
    rc = store_upload_advance(d, id, offset, offset + (int64_t)size, out->length, expires);
    close(part);
    if (rc == ERR_CONFLICT)
        return domain_fail(err, rc, "offset_mismatch", "the offset moved meanwhile");
    if (rc < 0)
        return domain_db_failed(err, d, "upload offset");
    out->offset = offset + (int64_t)size;
    out->expires_at = expires;
    if (out->length >= 0 && out->offset == out->length)
        return finish(d, me, out, err);
    return 0;
}

int uploads_terminate(db *d, int64_t owner, int64_t id, domain_error *err)
{
    store_upload u;
    int rc = uploads_get_own(d, owner, id, &u, err);
    if (rc < 0 && rc != ERR_GONE)
        return rc;
    if (store_upload_delete(d, id) < 0)
        return domain_db_failed(err, d, "terminate upload");
    char path[4200];
    part_path(id, path, sizeof path);
    unlink(path);
    return 0;
}

int uploads_expire(db *d, int64_t now)
{
    int64_t ids[200];
    int n = store_upload_expired(d, now, ids, 200);
    for (int i = 0; i < n; i++) {
        char path[4200];
        part_path(ids[i], path, sizeof path);
        if (store_upload_delete(d, ids[i]) == 0)
            unlink(path);
    }
    if (n > 0)
        log_info("expired uploads removed", "\"count\":%d", n);
    return n;
}

/* SPDX-License-Identifier: MIT
 *
 * The JSON of chat as clients see it, in one place for the three ways it reaches them: REST
 * answers (conversations.c), socket acks (conversations_ws.c), and the envelopes pushed to the
 * members' sockets and SSE streams after a change commits (api_chat_notify, the notifier app.c
 * installs in domain/chat.c). The domain hands over store rows and chat_notice structs; the
 * shapes, the media URLs and the bus topics are decided here. A send's body is read here too,
 * since REST and the socket accept the same members (API_CHAT_SEND_FIELDS).
 */
#include "api/api.h"

#include "core/bus.h"
#include "core/id.h"
#include "core/topics.h"
#include "core/util.h"
#include "domain/chat.h"

#include <stdlib.h>
#include <string.h>

void api_chat_draft(json_t *body, chat_draft *out)
{
    memset(out, 0, sizeof *out);
    id_parse(json_string_value(json_object_get(body, "conversation_id")), &out->conversation_id);
    out->text = json_string_value(json_object_get(body, "text"));
    id_parse(json_string_value(json_object_get(body, "reply_to")), &out->reply_to);
    out->client_id = json_string_value(json_object_get(body, "client_id"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(body, "attachments"), i, x)
    {
        if (out->n_attachments < CHAT_ATTACH_MAX &&
            id_parse(json_string_value(x), &out->attachments[out->n_attachments]))
            out->n_attachments++;
    }
}

/* One attachment as a recipient needs it: kind, state and, once ready, signed URLs. A chat
 * bubble needs the picture (or the HLS master) and one thumbnail or poster. */
static json_t *attachment_json(db *d, json_t *v, int64_t exp)
{
    int64_t id;
    chat_attachment a;
    if (!json_is_string(v) || !id_parse(json_string_value(v), &id) ||
        chat_attachment_get(d, id, &a) < 0)
        return json_pack("{s:O, s:s}", "id", v, "state", "deleted");
    json_t *urls = json_null();
    if (!strcmp(a.state, "ready")) {
        bool image = !strcmp(a.kind, "image");
        char main_url[700], thumb_url[700];
        media_signed_url(id, image ? "image.jpg" : "hls/master.m3u8", exp, main_url,
                         sizeof main_url);
        media_signed_url(id, image ? "thumb_480.jpg" : "poster.jpg", exp, thumb_url,
                         sizeof thumb_url);
        urls = json_pack("{s:s, s:s}", image ? "image" : "master", main_url,
                         image ? "thumbnail_480" : "poster", thumb_url);
    }
    return json_pack("{s:O, s:s, s:s, s:o}", "id", v, "kind", a.kind, "state", a.state, "urls",
                     urls);
}

static json_t *media_json(db *d, json_t *ids)
{
    json_t *out = json_array();
    int64_t exp = now_ms() / 1000 + MEDIA_URL_TTL_S;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) json_array_append_new(out, attachment_json(d, v, exp));
    return out;
}

json_t *api_chat_message_json(db *d, const store_message *m)
{
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:s, s:o, s:o, s:b}", "id", json_id(m->id), "conversation_id",
        json_id(m->conversation_id), "sender_id", json_id(m->sender_id), "kind", m->kind,
        "created_at", json_time(m->created_at), "edited_at",
        m->edited_at ? json_time(m->edited_at) : json_null(), "deleted", m->deleted_at != 0);
    /* a system message's body is its event, stored as a JSON object */
    bool system = !strcmp(m->kind, "system");
    json_t *event = system ? json_loads(m->body ? m->body : "{}", 0, NULL) : NULL;
    json_object_set_new(o, "text", system || m->deleted_at ? json_null() : json_string(m->body));
    json_object_set_new(o, "event", event ? event : json_null());
    json_t *att = json_loads(m->attachments[0] ? m->attachments : "[]", 0, NULL);
    if (!att)
        att = json_array();
    json_object_set_new(o, "media", d && json_array_size(att) ? media_json(d, att) : json_array());
    json_object_set_new(o, "attachments", att);
    json_object_set_new(o, "reply_to", m->reply_to ? json_id(m->reply_to) : json_null());
    json_object_set_new(o, "client_id", m->client_id[0] ? json_string(m->client_id) : json_null());
    return o;
}

/* The envelope's type for each notice: the event names clients know (docs/realtime.md). */
static const char *const notice_types[] = {
    [CHAT_NOTICE_MESSAGE_NEW] = "message.new",
    [CHAT_NOTICE_MESSAGE_EDITED] = "message.edited",
    [CHAT_NOTICE_MESSAGE_DELETED] = "message.deleted",
    [CHAT_NOTICE_MESSAGE_UPDATED] = "message.updated",
    [CHAT_NOTICE_ACCEPTED] = "conversation.accepted",
    [CHAT_NOTICE_READ] = "conversation.read",
    [CHAT_NOTICE_DELIVERED] = "message.delivered",
    [CHAT_NOTICE_TYPING] = "typing",
};

static json_t *notice_data(db *d, const chat_notice *n)
{
    switch (n->type) {
    case CHAT_NOTICE_MESSAGE_NEW:
    case CHAT_NOTICE_MESSAGE_EDITED:
    case CHAT_NOTICE_MESSAGE_DELETED:
    case CHAT_NOTICE_MESSAGE_UPDATED:
        return api_chat_message_json(d, n->message);
    case CHAT_NOTICE_ACCEPTED:
        return json_pack("{s:o, s:o}", "conversation_id", json_id(n->conversation_id), "user_id",
                         json_id(n->user_id));
    case CHAT_NOTICE_READ:
    case CHAT_NOTICE_DELIVERED:
        return json_pack("{s:o, s:o, s:o}", "conversation_id", json_id(n->conversation_id),
                         "user_id", json_id(n->user_id), "message_id", json_id(n->message_id));
    case CHAT_NOTICE_TYPING:
        return json_pack("{s:o, s:o, s:i}", "conversation_id", json_id(n->conversation_id),
                         "user_id", json_id(n->user_id), "expires_in_ms", CHAT_TYPING_EXPIRES_MS);
    }
    return NULL;
}

/* The envelope is what bus_publish_user would send, serialized once rather than once per member
 * (a 256-member group would otherwise dump the same JSON 256 times). */
void api_chat_notify(db *d, const chat_notice *n)
{
    json_t *data = notice_data(d, n);
    json_t *env =
        data ? json_pack("{s:s, s:o}", "type", notice_types[n->type], "data", data) : NULL;
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!text)
        return;
    size_t len = strlen(text);
    for (int i = 0; i < n->n_recipients; i++) {
        char topic[TOPIC_MAX];
        topic_user(topic, n->recipients[i]);
        bus_publish(topic, text, len);
    }
    free(text);
}

/* A catch-up answer stays well under the hub's per-socket send queue (1 MiB by default), or a
 * client catching up on long messages would be closed as a slow consumer (1013): past this many
 * bytes of message text the page ends early (has_more) and changes are cut (changed_complete). */
#define SYNC_BYTES (384 * 1024)
/* a JSON-escaped character takes at most 6 bytes; 400 more for the other fields */
#define SYNC_COST(m) (6 * strlen((m)->body) + 400)

json_t *api_chat_sync_json(db *d, int64_t me, int64_t after, domain_error *err, int *rc_out)
{
    store_message *ms = xcalloc(CHAT_SYNC_MAX + 1, sizeof *ms);
    store_message *ch = xcalloc(CHAT_SYNC_MAX, sizeof *ch);
    int n_changed = 0;
    int n = chat_sync(d, me, after, ms, CHAT_SYNC_MAX + 1, ch, CHAT_SYNC_MAX, &n_changed, err);
    *rc_out = n < 0 ? n : 0;
    json_t *out = NULL;
    if (n >= 0) {
        json_t *items = json_array(), *changes = json_array();
        size_t bytes = 0;
        int shown = 0, shown_changed = 0;
        while (shown < n && shown < CHAT_SYNC_MAX &&
               (shown == 0 || bytes + SYNC_COST(&ms[shown]) <= SYNC_BYTES)) {
            bytes += SYNC_COST(&ms[shown]);
            json_array_append_new(items, api_chat_message_json(d, &ms[shown++]));
        }
        while (shown_changed < n_changed && bytes + SYNC_COST(&ch[shown_changed]) <= SYNC_BYTES) {
            bytes += SYNC_COST(&ch[shown_changed]);
            json_array_append_new(changes, api_chat_message_json(d, &ch[shown_changed++]));
        }
        out = json_pack("{s:o, s:o, s:b, s:b, s:o}", "messages", items, "changed", changes,
                        "has_more", n > shown, "changed_complete",
                        shown_changed == n_changed && n_changed < CHAT_SYNC_MAX, "last_id",
                        shown   ? json_id(ms[shown - 1].id)
                        : after ? json_id(after)
                                : json_null());
        /* the list shape's cursor too: the "after" of the next call while more wait */
        json_object_set_new(out, "next_cursor",
                            n > shown && shown ? json_id(ms[shown - 1].id) : json_null());
        chat_messages_free(ms, n);
        chat_messages_free(ch, n_changed);
    }
    free(ms);
    free(ch);
    return out;
}

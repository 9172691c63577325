/* SPDX-License-Identifier: MIT
 *
 * Migration lists per dialect. A migration, once released, is never edited: add a new one. The
 * two lists keep the same versions with the same meaning; only types and syntax differ (SQLite
 * wants INTEGER PRIMARY KEY for a rowid alias, PostgreSQL BIGINT).
 */
#include "store/migrate.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>

typedef struct migration {
    int version;
    const char *name;
    const char *sql;
} migration;

#define USERS_COMMON                                                                              \
    "  email TEXT,"                                                                      \
    "  email_norm TEXT UNIQUE,"                                                          \
    "  handle TEXT NOT NULL,"                                                                     \
    "  handle_norm TEXT NOT NULL UNIQUE,"                                                         \
    "  phone TEXT UNIQUE,"                                                                        \
    "  display_name TEXT NOT NULL DEFAULT '',"                                                    \
    "  password_hash TEXT,"                                                                       \
    "  role TEXT NOT NULL DEFAULT 'user',"                                                        \
    "  email_verified_at BIGINT,"                                                                 \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL"

#define AUTH_TABLES(ID_PK)                                                                        \
    "CREATE TABLE users (id " ID_PK "," USERS_COMMON ");"                                         \
    "CREATE TABLE sessions ("                                                                     \
    "  id " ID_PK ","                                                                             \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  last_used_at BIGINT NOT NULL,"                                                             \
    "  expires_at BIGINT NOT NULL,"                                                               \
    "  revoked_at BIGINT,"                                                                        \
    "  revoke_reason TEXT,"                                                                       \
    "  user_agent TEXT NOT NULL DEFAULT '',"                                                      \
    "  ip TEXT NOT NULL DEFAULT '');"                                                             \
    "CREATE INDEX sessions_user ON sessions(user_id, id);"                                        \
    "CREATE TABLE refresh_tokens ("                                                               \
    "  token_hash TEXT PRIMARY KEY,"                                                              \
    "  session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"                    \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  expires_at BIGINT NOT NULL,"                                                               \
    "  rotated_at BIGINT);"                                                                       \
    "CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);"                          \
    "CREATE TABLE codes ("                                                                        \
    "  id " ID_PK ","                                                                             \
    "  purpose TEXT NOT NULL,"                                                                    \
    "  target TEXT NOT NULL,"                                                                     \
    "  user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,"                                   \
    "  code_hash TEXT NOT NULL,"                                                                  \
    "  attempts BIGINT NOT NULL DEFAULT 0,"                                                       \
    "  expires_at BIGINT NOT NULL,"                                                               \
    "  used_at BIGINT,"                                                                           \
    "  created_at BIGINT NOT NULL);"                                                              \
    "CREATE INDEX codes_target ON codes(purpose, target, id);"                                    \
    "CREATE INDEX codes_hash ON codes(code_hash);"                                                \
    "CREATE TABLE outbox ("                                                                       \
    "  id " ID_PK ","                                                                             \
    "  channel TEXT NOT NULL,"                                                                    \
    "  recipient TEXT NOT NULL,"                                                                  \
    "  template TEXT NOT NULL,"                                                                   \
    "  payload TEXT NOT NULL,"                                                                    \
    "  state TEXT NOT NULL DEFAULT 'pending',"                                                    \
    "  attempts BIGINT NOT NULL DEFAULT 0,"                                                       \
    "  next_attempt_at BIGINT NOT NULL,"                                                          \
    "  lease_until BIGINT NOT NULL DEFAULT 0,"                                                    \
    "  last_error TEXT,"                                                                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  sent_at BIGINT);"                                                                          \
    "CREATE INDEX outbox_due ON outbox(state, next_attempt_at);"

/* Profiles and the follow graph. Counters live on the user row and change in the same
 * transaction as the edge, so they stay exact under concurrency. */
#define GRAPH_TABLES(ID_PK)                                                                       \
    "ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';"                                  \
    "ALTER TABLE users ADD COLUMN links TEXT NOT NULL DEFAULT '[]';"                              \
    "ALTER TABLE users ADD COLUMN is_private BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE users ADD COLUMN allow_duets BIGINT NOT NULL DEFAULT 1;"                         \
    "ALTER TABLE users ADD COLUMN allow_stitches BIGINT NOT NULL DEFAULT 1;"                      \
    "ALTER TABLE users ADD COLUMN allow_comments BIGINT NOT NULL DEFAULT 1;"                      \
    "ALTER TABLE users ADD COLUMN default_visibility TEXT NOT NULL DEFAULT 'public';"             \
    "ALTER TABLE users ADD COLUMN followers_count BIGINT NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE users ADD COLUMN following_count BIGINT NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE users ADD COLUMN posts_count BIGINT NOT NULL DEFAULT 0;"                         \
    "CREATE TABLE follows ("                                                                      \
    "  id " ID_PK ","                                                                             \
    "  follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                      \
    "  followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                      \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (follower_id, followee_id));"                                                       \
    "CREATE INDEX follows_followee ON follows(followee_id, id);"                                  \
    "CREATE INDEX follows_follower ON follows(follower_id, id);"                                  \
    "CREATE TABLE follow_requests ("                                                              \
    "  id " ID_PK ","                                                                             \
    "  requester_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                     \
    "  target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                        \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (requester_id, target_id));"                                                        \
    "CREATE INDEX follow_requests_target ON follow_requests(target_id, id);"

/* Blocks and mutes: one row per directed pair. */
#define BLOCK_TABLES(ID_PK)                                                                       \
    "CREATE TABLE blocks ("                                                                       \
    "  id " ID_PK ","                                                                             \
    "  blocker_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                       \
    "  blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                       \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (blocker_id, blocked_id));"                                                         \
    "CREATE INDEX blocks_blocked ON blocks(blocked_id, blocker_id);"                              \
    "CREATE TABLE mutes ("                                                                        \
    "  id " ID_PK ","                                                                             \
    "  muter_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    "  muted_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (muter_id, muted_id));"

/* Posts (soft-deleted: deleted_at set, purged later) and their edit history. */
#define POST_TABLES(ID_PK)                                                                        \
    "CREATE TABLE posts ("                                                                        \
    "  id " ID_PK ","                                                                             \
    "  author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                        \
    "  type TEXT NOT NULL,"                                                                       \
    "  caption TEXT NOT NULL DEFAULT '',"                                                         \
    "  visibility TEXT NOT NULL,"                                                                 \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL,"                                                               \
    "  deleted_at BIGINT);"                                                                       \
    "CREATE INDEX posts_author ON posts(author_id, id);"                                          \
    "CREATE TABLE post_edits ("                                                                   \
    "  id " ID_PK ","                                                                             \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  caption TEXT NOT NULL,"                                                                    \
    "  visibility TEXT NOT NULL,"                                                                 \
    "  edited_at BIGINT NOT NULL);"                                                               \
    "CREATE INDEX post_edits_post ON post_edits(post_id, id);"

/* Reactions: one per user and post (changing the type replaces it); the post's count moves in
 * the same transaction. */
#define REACTION_TABLES(ID_PK)                                                                    \
    "ALTER TABLE posts ADD COLUMN reaction_count BIGINT NOT NULL DEFAULT 0;"                      \
    "CREATE TABLE reactions ("                                                                    \
    "  id " ID_PK ","                                                                             \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  type TEXT NOT NULL,"                                                                       \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (post_id, user_id));"                                                               \
    "CREATE INDEX reactions_post ON reactions(post_id, id);"

/* Threaded comments (parent_id for replies), soft-deleted; the post's count moves with them.
 * comments_enabled lets an author turn comments off per post. */
#define COMMENT_TABLES(ID_PK)                                                                     \
    "ALTER TABLE posts ADD COLUMN comment_count BIGINT NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE posts ADD COLUMN comments_enabled BIGINT NOT NULL DEFAULT 1;"                    \
    "CREATE TABLE comments ("                                                                     \
    "  id " ID_PK ","                                                                             \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                        \
    "  parent_id BIGINT,"                                                                         \
    "  body TEXT NOT NULL,"                                                                       \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL,"                                                               \
    "  deleted_at BIGINT);"                                                                       \
    "CREATE INDEX comments_post ON comments(post_id, parent_id, id);"

/* Saves: private bookmarks, one per user and post; the post's count moves with them. */
#define SAVE_TABLES(ID_PK)                                                                        \
    "ALTER TABLE posts ADD COLUMN save_count BIGINT NOT NULL DEFAULT 0;"                          \
    "CREATE TABLE saves ("                                                                        \
    "  id " ID_PK ","                                                                             \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (user_id, post_id));"                                                               \
    "CREATE INDEX saves_user ON saves(user_id, id);"

/* Circles (close-friend lists), stories (expires_at), shares/duets/stitches (source references
 * and counts), views (once per viewer per window), comment likes, and the trending key: hot_at is
 * created_at pushed later by TREND_HALF_LIFE * log2(1 + engagement), an integer that never needs
 * recomputing as time passes (see docs/social.md). */
#define CONTENT_TABLES(ID_PK)                                                                     \
    "ALTER TABLE posts ADD COLUMN circle_id BIGINT;"                                              \
    "ALTER TABLE posts ADD COLUMN expires_at BIGINT;"                                             \
    "ALTER TABLE posts ADD COLUMN share_of BIGINT;"                                               \
    "ALTER TABLE posts ADD COLUMN duet_of BIGINT;"                                                \
    "ALTER TABLE posts ADD COLUMN stitch_of BIGINT;"                                              \
    "ALTER TABLE posts ADD COLUMN share_count BIGINT NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE posts ADD COLUMN duet_count BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE posts ADD COLUMN stitch_count BIGINT NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE posts ADD COLUMN view_count BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE posts ADD COLUMN hot_at BIGINT NOT NULL DEFAULT 0;"                              \
    "UPDATE posts SET hot_at = created_at;"                                                       \
    "CREATE INDEX posts_trending ON posts(hot_at, id) WHERE visibility = 'public' "              \
    "  AND deleted_at IS NULL AND expires_at IS NULL;"                                            \
    "CREATE INDEX posts_stories ON posts(author_id, expires_at) WHERE expires_at IS NOT NULL;"    \
    "CREATE TABLE circles ("                                                                      \
    "  id " ID_PK ","                                                                             \
    "  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    "  name TEXT NOT NULL,"                                                                       \
    "  member_count BIGINT NOT NULL DEFAULT 0,"                                                   \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL);"                                                              \
    "CREATE INDEX circles_owner ON circles(owner_id, id);"                                        \
    "CREATE TABLE circle_members ("                                                               \
    "  id " ID_PK ","                                                                             \
    "  circle_id BIGINT NOT NULL REFERENCES circles(id) ON DELETE CASCADE,"                      \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (circle_id, user_id));"                                                             \
    "CREATE INDEX circle_members_circle ON circle_members(circle_id, id);"                        \
    "CREATE TABLE post_views ("                                                                   \
    "  id " ID_PK ","                                                                             \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  viewer_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                        \
    "  window_start BIGINT NOT NULL,"                                                             \
    "  watch_ms BIGINT NOT NULL,"                                                                 \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (post_id, viewer_id, window_start));"                                               \
    "CREATE INDEX post_views_viewer ON post_views(viewer_id, post_id);"                           \
    "ALTER TABLE comments ADD COLUMN like_count BIGINT NOT NULL DEFAULT 0;"                       \
    "CREATE TABLE comment_likes ("                                                                \
    "  id " ID_PK ","                                                                             \
    "  comment_id BIGINT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,"                    \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (comment_id, user_id));"

/* Hashtags (normalized lowercase, with a count of live posts) and mentions parsed from
 * captions; post_hashtags is read by tag, newest post first. */
#define TAG_TABLES(ID_PK)                                                                         \
    "CREATE TABLE hashtags ("                                                                     \
    "  id " ID_PK ","                                                                             \
    "  tag TEXT NOT NULL UNIQUE,"                                                                 \
    "  post_count BIGINT NOT NULL DEFAULT 0,"                                                     \
    "  created_at BIGINT NOT NULL);"                                                              \
    "CREATE TABLE post_hashtags ("                                                                \
    "  hashtag_id BIGINT NOT NULL REFERENCES hashtags(id) ON DELETE CASCADE,"                    \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  PRIMARY KEY (hashtag_id, post_id));"                                                       \
    "CREATE INDEX post_hashtags_post ON post_hashtags(post_id);"                                  \
    "CREATE TABLE post_mentions ("                                                                \
    "  post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,"                          \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  PRIMARY KEY (post_id, user_id));"

/* Notifications: one row per event, except groupable events (likes of one post, follows) which
 * bump the recipient's unread row with the same group_key (a unique partial index makes that an
 * upsert); seq orders the list and moves to the top on each bump; actor_id is the newest actor. */
#define NOTIFICATION_TABLES(ID_PK)                                                                \
    "CREATE TABLE notifications ("                                                                \
    "  id " ID_PK ","                                                                             \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  type TEXT NOT NULL,"                                                                       \
    "  actor_id BIGINT NOT NULL,"                                                                 \
    "  actor_count BIGINT NOT NULL DEFAULT 1,"                                                    \
    "  post_id BIGINT,"                                                                           \
    "  comment_id BIGINT,"                                                                        \
    "  group_key TEXT,"                                                                           \
    "  seq BIGINT NOT NULL,"                                                                      \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL,"                                                               \
    "  read_at BIGINT);"                                                                          \
    "CREATE UNIQUE INDEX notifications_seq ON notifications(user_id, seq);"                      \
    "CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at IS NULL;"         \
    "CREATE UNIQUE INDEX notifications_group ON notifications(user_id, group_key) "              \
    "  WHERE read_at IS NULL;"                                                                    \
    "CREATE TABLE notification_prefs ("                                                           \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  type TEXT NOT NULL,"                                                                       \
    "  enabled BIGINT NOT NULL,"                                                                  \
    "  PRIMARY KEY (user_id, type));"

/* Verification badges, reserved old handles, and the append-only event log for analytics. */
#define IDENTITY_EVENT_TABLES(ID_PK)                                                              \
    "CREATE TABLE user_badges ("                                                                  \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  badge TEXT NOT NULL,"                                                                      \
    "  granted_by BIGINT NOT NULL,"                                                               \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  PRIMARY KEY (user_id, badge));"                                                            \
    "CREATE TABLE handle_reservations ("                                                          \
    "  handle_norm TEXT PRIMARY KEY,"                                                             \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  reserved_until BIGINT NOT NULL);"                                                          \
    "CREATE TABLE events ("                                                                       \
    "  id " ID_PK ","                                                                             \
    "  actor_id BIGINT NOT NULL,"                                                                 \
    "  type TEXT NOT NULL,"                                                                       \
    "  object_type TEXT NOT NULL,"                                                                \
    "  object_id BIGINT NOT NULL,"                                                                \
    "  props TEXT NOT NULL,"                                                                      \
    "  created_at BIGINT NOT NULL);"                                                              \
    "CREATE INDEX events_actor ON events(actor_id, id);"                                          \
    "CREATE INDEX events_type ON events(type, id);"

/* Search. SQLite: FTS5 tables over users (handle, display name, bio) and captions, with
 * external content (the rows themselves stay in users/posts) kept in step by triggers. unicode61
 * with remove_diacritics folds case and accents, so "cafe" finds "Café". Only live posts are
 * indexed: the triggers drop a post's words when it is soft-deleted, so deleted posts cannot be
 * found even before the query-time deleted_at filter; counter updates (likes, follows) touch no
 * indexed column and do not re-index. The 'delete' command needs the values that were indexed,
 * which is why each trigger passes old.* and why the update trigger deletes before it inserts. */
#define SEARCH_SQLITE                                                                             \
    "CREATE VIRTUAL TABLE users_fts USING fts5(handle, display_name, bio, content='users', "     \
    "  content_rowid='id', tokenize='unicode61 remove_diacritics 2');"                            \
    "INSERT INTO users_fts (rowid, handle, display_name, bio) "                                   \
    "  SELECT id, handle, display_name, bio FROM users;"                                          \
    "CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN"                                 \
    "  INSERT INTO users_fts (rowid, handle, display_name, bio)"                                  \
    "    VALUES (new.id, new.handle, new.display_name, new.bio);"                                 \
    "END;"                                                                                        \
    "CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN"                                 \
    "  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio)"                       \
    "    VALUES ('delete', old.id, old.handle, old.display_name, old.bio);"                       \
    "END;"                                                                                        \
    "CREATE TRIGGER users_fts_update AFTER UPDATE OF handle, display_name, bio ON users BEGIN"    \
    "  INSERT INTO users_fts (users_fts, rowid, handle, display_name, bio)"                       \
    "    VALUES ('delete', old.id, old.handle, old.display_name, old.bio);"                       \
    "  INSERT INTO users_fts (rowid, handle, display_name, bio)"                                  \
    "    VALUES (new.id, new.handle, new.display_name, new.bio);"                                 \
    "END;"                                                                                        \
    "CREATE VIRTUAL TABLE posts_fts USING fts5(caption, content='posts', content_rowid='id', "    \
    "  tokenize='unicode61 remove_diacritics 2');"                                                \
    "INSERT INTO posts_fts (rowid, caption) SELECT id, caption FROM posts "                       \
    "  WHERE deleted_at IS NULL;"                                                                 \
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts WHEN new.deleted_at IS NULL BEGIN"     \
    "  INSERT INTO posts_fts (rowid, caption) VALUES (new.id, new.caption);"                      \
    "END;"                                                                                        \
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts WHEN old.deleted_at IS NULL BEGIN"     \
    "  INSERT INTO posts_fts (posts_fts, rowid, caption) VALUES ('delete', old.id, old.caption);" \
    "END;"                                                                                        \
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF caption, deleted_at ON posts BEGIN"          \
    "  INSERT INTO posts_fts (posts_fts, rowid, caption)"                                         \
    "    SELECT 'delete', old.id, old.caption WHERE old.deleted_at IS NULL;"                      \
    "  INSERT INTO posts_fts (rowid, caption)"                                                    \
    "    SELECT new.id, new.caption WHERE new.deleted_at IS NULL;"                                \
    "END;"

/* Search. PostgreSQL: stored generated tsvector columns with GIN indexes. Generated rather than
 * expression indexes so ts_rank reads the stored vector instead of re-parsing every candidate's
 * text, and the queries need not repeat the indexing expression word for word; adding them fills
 * existing rows. The 'simple' configuration lowercases and splits words but neither stems nor
 * drops stop words: handles, names and captions in many languages are not English prose, and
 * both engines then match the same words (PostgreSQL keeps accents, see docs/search.md). Handle
 * words weigh most (A), then the display name (B), then the bio (C). The partial GIN index on
 * posts leaves deleted posts out. text_pattern_ops lets the handle prefix range use an index
 * whatever the database collation. */
#define SEARCH_PG                                                                                 \
    "ALTER TABLE users ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("                      \
    "  setweight(to_tsvector('simple', handle), 'A') ||"                                          \
    "  setweight(to_tsvector('simple', display_name), 'B') ||"                                    \
    "  setweight(to_tsvector('simple', bio), 'C')) STORED;"                                       \
    "CREATE INDEX users_search ON users USING GIN (search_tsv);"                                  \
    "CREATE INDEX users_handle_prefix ON users (handle_norm text_pattern_ops);"                   \
    "ALTER TABLE posts ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("                      \
    "  to_tsvector('simple', caption)) STORED;"                                                   \
    "CREATE INDEX posts_search ON posts USING GIN (search_tsv) WHERE deleted_at IS NULL;"

/* Indexes for the purge of soft-deleted posts and expired stories (jobs/maintenance.c). */
#define PURGE_INDEXES                                                                             \
    "CREATE INDEX posts_deleted ON posts(deleted_at) WHERE deleted_at IS NOT NULL;"               \
    "CREATE INDEX posts_expiry ON posts(expires_at) WHERE expires_at IS NOT NULL;"

/* The durable job queue (store/jobs.c, jobs/queue.c): claimable rows are queued-and-due or
 * running-with-an-expired-lease, which the partial index keeps small. */
#define JOB_TABLES(ID_PK)                                                                         \
    "CREATE TABLE jobs ("                                                                         \
    "  id " ID_PK ","                                                                             \
    "  kind TEXT NOT NULL,"                                                                       \
    "  payload TEXT NOT NULL,"                                                                    \
    "  state TEXT NOT NULL,"                                                                      \
    "  priority BIGINT NOT NULL,"                                                                 \
    "  attempts BIGINT NOT NULL,"                                                                 \
    "  max_attempts BIGINT NOT NULL,"                                                             \
    "  run_after BIGINT NOT NULL,"                                                                \
    "  lease_owner TEXT,"                                                                         \
    "  lease_until BIGINT NOT NULL,"                                                              \
    "  progress BIGINT NOT NULL,"                                                                 \
    "  last_error TEXT,"                                                                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL,"                                                               \
    "  finished_at BIGINT);"                                                                      \
    "CREATE INDEX jobs_claimable ON jobs(priority, run_after, id) "                               \
    "  WHERE state IN ('queued', 'running');"

/* Media (store/media.c): one row per uploaded file, its sniffed type, what ffprobe found and
 * where processing stands; the files live under DATA_DIR/media/<id>/. */
#define MEDIA_TABLES(ID_PK)                                                                       \
    "CREATE TABLE media ("                                                                        \
    "  id " ID_PK ","                                                                             \
    "  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    "  kind TEXT NOT NULL,"                                                                       \
    "  mime TEXT NOT NULL,"                                                                       \
    "  filename TEXT NOT NULL,"                                                                   \
    "  size BIGINT NOT NULL,"                                                                     \
    "  state TEXT NOT NULL,"                                                                      \
    "  progress BIGINT NOT NULL DEFAULT 0,"                                                       \
    "  error TEXT,"                                                                               \
    "  probe TEXT,"                                                                               \
    "  renditions TEXT,"                                                                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL);"                                                              \
    "CREATE INDEX media_owner ON media(owner_id, id);"

/* Posts carrying media (video, reel, image): shown to others once the media is ready. */
#define POST_MEDIA                                                                                \
    "ALTER TABLE posts ADD COLUMN media_id BIGINT;"                                               \
    "ALTER TABLE posts ADD COLUMN media_ready BIGINT NOT NULL DEFAULT 0;"                         \
    "CREATE INDEX posts_media ON posts(media_id) WHERE media_id IS NOT NULL;"

/* Resumable uploads (tus): the bytes so far live in DATA_DIR/uploads/<id>.part; offset is what
 * has been written and fsynced, so a restart resumes exactly there. */
#define UPLOAD_TABLES(ID_PK)                                                                      \
    "CREATE TABLE uploads ("                                                                      \
    "  id " ID_PK ","                                                                             \
    "  owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                         \
    "  length BIGINT,"                                                                            \
    "  offset_bytes BIGINT NOT NULL DEFAULT 0,"                                                   \
    "  metadata TEXT NOT NULL,"                                                                   \
    "  filename TEXT NOT NULL,"                                                                   \
    "  state TEXT NOT NULL,"                                                                      \
    "  media_id BIGINT,"                                                                          \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  expires_at BIGINT NOT NULL);"                                                              \
    "CREATE INDEX uploads_owner ON uploads(owner_id, state);"                                     \
    "CREATE INDEX uploads_expiry ON uploads(expires_at) WHERE state = 'uploading';"

/* Realtime (issue 5, live share): presence as last persisted (status and last seen; the
 * coalescing lives in memory), per-room settings and bans. Rooms themselves need no row: any
 * valid name is a room, and membership is socket state, not data. */
#define LIVE_TABLES                                                                               \
    "CREATE TABLE presence ("                                                                     \
    "  user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"                       \
    "  status TEXT NOT NULL,"                                                                     \
    "  last_seen_at BIGINT NOT NULL,"                                                             \
    "  updated_at BIGINT NOT NULL);"                                                              \
    "CREATE TABLE rooms ("                                                                        \
    "  name TEXT PRIMARY KEY,"                                                                    \
    "  slow_mode_seconds BIGINT NOT NULL DEFAULT 0,"                                              \
    "  updated_by BIGINT,"                                                                        \
    "  updated_at BIGINT NOT NULL);"                                                              \
    "CREATE TABLE room_bans ("                                                                    \
    "  room TEXT NOT NULL,"                                                                       \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  banned_by BIGINT,"                                                                         \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  PRIMARY KEY (room, user_id));"
/* Conversations (1:1 and groups), their members and messages. pair_key ("<low id>:<high id>")
 * makes a 1:1 unique per pair on both dialects. activity_id is the id of the latest message (or
 * of the conversation itself): ids are time-ordered and unique, so it is the inbox's cursor.
 * A member's joined_id bounds the history they see; last_read_id and last_delivered_id are the
 * receipts. Messages are soft-deleted for everyone; updated_at moves on edit and delete so a
 * reconnecting client can be sent what changed. */
#define CHAT_TABLES(ID_PK)                                                                        \
    "CREATE TABLE conversations ("                                                                \
    "  id " ID_PK ","                                                                             \
    "  kind TEXT NOT NULL,"                                                                       \
    "  title TEXT NOT NULL DEFAULT '',"                                                           \
    "  pair_key TEXT UNIQUE,"                                                                     \
    "  created_by BIGINT NOT NULL,"                                                               \
    "  member_count BIGINT NOT NULL DEFAULT 0,"                                                   \
    "  last_message_id BIGINT NOT NULL DEFAULT 0,"                                                \
    "  activity_id BIGINT NOT NULL,"                                                              \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL);"                                                              \
    "CREATE TABLE conversation_members ("                                                         \
    "  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"          \
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"                          \
    "  role TEXT NOT NULL,"                                                                       \
    "  state TEXT NOT NULL,"                                                                      \
    "  joined_id BIGINT NOT NULL,"                                                                \
    "  last_read_id BIGINT NOT NULL DEFAULT 0,"                                                   \
    "  last_delivered_id BIGINT NOT NULL DEFAULT 0,"                                              \
    "  PRIMARY KEY (conversation_id, user_id));"                                                  \
    "CREATE INDEX conversation_members_user ON conversation_members(user_id, state);"             \
    "CREATE TABLE conversation_messages ("                                                        \
    "  id " ID_PK ","                                                                             \
    "  conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"          \
    "  sender_id BIGINT NOT NULL,"                                                                \
    "  kind TEXT NOT NULL,"                                                                       \
    "  body TEXT NOT NULL DEFAULT '',"                                                            \
    "  attachments TEXT NOT NULL DEFAULT '[]',"                                                   \
    "  reply_to BIGINT,"                                                                          \
    "  client_id TEXT,"                                                                           \
    "  created_at BIGINT NOT NULL,"                                                               \
    "  edited_at BIGINT,"                                                                         \
    "  deleted_at BIGINT,"                                                                        \
    "  updated_at BIGINT NOT NULL,"                                                               \
    "  UNIQUE (conversation_id, sender_id, client_id));"                                          \
    "CREATE INDEX conversation_messages_order ON conversation_messages(conversation_id, id);"     \
    "CREATE INDEX conversation_messages_updated ON conversation_messages(conversation_id, "       \
    "updated_at);"

/* Hashtag counts anyone may be shown: live public posts of public accounts (the tag's page and
 * search must not reveal tags used only in private, circle or followers-only posts). Kept exact
 * by store/tags.c from here on; this fills it once. */
#define HASHTAG_PUBLIC_COUNT                                                                       \
    "ALTER TABLE hashtags ADD COLUMN public_count BIGINT NOT NULL DEFAULT 0;"                      \
    "UPDATE hashtags SET public_count = (SELECT COUNT(*) FROM post_hashtags ph "                   \
    "JOIN posts p ON p.id = ph.post_id JOIN users u ON u.id = p.author_id "                        \
    "WHERE ph.hashtag_id = hashtags.id AND p.visibility = 'public' AND u.is_private = 0);"

static const migration sqlite_migrations[] = {
    {1, "accounts", AUTH_TABLES("INTEGER PRIMARY KEY")},
    {2, "profiles_and_follows", GRAPH_TABLES("INTEGER PRIMARY KEY")},
    {3, "blocks_and_mutes", BLOCK_TABLES("INTEGER PRIMARY KEY")},
    {4, "posts", POST_TABLES("INTEGER PRIMARY KEY")},
    {5, "reactions", REACTION_TABLES("INTEGER PRIMARY KEY")},
    {6, "comments", COMMENT_TABLES("INTEGER PRIMARY KEY")},
    {7, "saves", SAVE_TABLES("INTEGER PRIMARY KEY")},
    {8, "content", CONTENT_TABLES("INTEGER PRIMARY KEY")},
    {9, "hashtags_mentions", TAG_TABLES("INTEGER PRIMARY KEY")},
    {10, "notifications", NOTIFICATION_TABLES("INTEGER PRIMARY KEY")},
    {11, "identity_events", IDENTITY_EVENT_TABLES("INTEGER PRIMARY KEY")},
    {12, "search", SEARCH_SQLITE},
    {13, "purge_indexes", PURGE_INDEXES},
    {14, "jobs", JOB_TABLES("INTEGER PRIMARY KEY")},
    {15, "media", MEDIA_TABLES("INTEGER PRIMARY KEY")},
    {16, "post_media", POST_MEDIA},
    {17, "uploads", UPLOAD_TABLES("INTEGER PRIMARY KEY")},
    {18, "conversations", CHAT_TABLES("INTEGER PRIMARY KEY")},
    {19, "presence_rooms", LIVE_TABLES},
    {22, "hashtag_public_count", HASHTAG_PUBLIC_COUNT},
};

static const migration pg_migrations[] = {
    {1, "accounts", AUTH_TABLES("BIGINT PRIMARY KEY")},
    {2, "profiles_and_follows", GRAPH_TABLES("BIGINT PRIMARY KEY")},
    {3, "blocks_and_mutes", BLOCK_TABLES("BIGINT PRIMARY KEY")},
    {4, "posts", POST_TABLES("BIGINT PRIMARY KEY")},
    {5, "reactions", REACTION_TABLES("BIGINT PRIMARY KEY")},
    {6, "comments", COMMENT_TABLES("BIGINT PRIMARY KEY")},
    {7, "saves", SAVE_TABLES("BIGINT PRIMARY KEY")},
    {8, "content", CONTENT_TABLES("BIGINT PRIMARY KEY")},
    {9, "hashtags_mentions", TAG_TABLES("BIGINT PRIMARY KEY")},
    {10, "notifications", NOTIFICATION_TABLES("BIGINT PRIMARY KEY")},
    {11, "identity_events", IDENTITY_EVENT_TABLES("BIGINT PRIMARY KEY")},
    {12, "search", SEARCH_PG},
    {13, "purge_indexes", PURGE_INDEXES},
    {14, "jobs", JOB_TABLES("BIGINT PRIMARY KEY")},
    {15, "media", MEDIA_TABLES("BIGINT PRIMARY KEY")},
    {16, "post_media", POST_MEDIA},
    {17, "uploads", UPLOAD_TABLES("BIGINT PRIMARY KEY")},
    {18, "conversations", CHAT_TABLES("BIGINT PRIMARY KEY")},
    {19, "presence_rooms", LIVE_TABLES},
    {22, "hashtag_public_count", HASHTAG_PUBLIC_COUNT},
};

#define N_MIGRATIONS ((int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0]))
_Static_assert(sizeof sqlite_migrations == sizeof pg_migrations,
               "every migration exists in both dialects");

int store_schema_version(void)
{
    return sqlite_migrations[N_MIGRATIONS - 1].version;
}

static const char *CREATE_VERSIONS =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
static const char *MAX_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char *RECORD_VERSION =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";

int store_applied_version(db *d)
{
    db_stmt *s = db_prepare(d, MAX_VERSION);
    if (!s)
        return ERR_DB;
    int64_t v;
    int rc = db_query_int64(s, &v);
    return rc < 0 ? rc : (int)v;
}

int store_migrate(db *d, char *err, size_t err_size)
{
    const migration *list = db_kind_of(d) == DB_SQLITE ? sqlite_migrations : pg_migrations;
    int rc = db_exec(d, CREATE_VERSIONS);
    if (rc < 0 && rc != ERR_CONFLICT) {
        /* two PostgreSQL processes racing on CREATE TABLE IF NOT EXISTS can hit a unique
         * violation in the catalog; the table exists either way. */
        snprintf(err, err_size, "create schema_migrations: %s", db_errmsg(d));
        return rc;
    }
    if ((rc = db_begin(d)) < 0) {
        snprintf(err, err_size, "begin: %s", db_errmsg(d));
        return rc;
    }
    if (db_kind_of(d) == DB_POSTGRES &&
        (rc = db_exec(d, "SELECT pg_advisory_xact_lock(7353718)")) < 0) {
        snprintf(err, err_size, "migration lock: %s", db_errmsg(d));
        goto fail;
    }
    int applied = store_applied_version(d), count = 0;
    if (applied < 0) {
        rc = applied;
        snprintf(err, err_size, "read schema version: %s", db_errmsg(d));
        goto fail;
    }
    for (int i = 0; i < N_MIGRATIONS; i++) {
        if (list[i].version <= applied)
            continue;
        if ((rc = db_exec(d, list[i].sql)) < 0) {
            snprintf(err, err_size, "migration %d (%s): %s", list[i].version, list[i].name,
                     db_errmsg(d));
            goto fail;
        }
        db_stmt *s = db_prepare(d, RECORD_VERSION);
        if (!s) {
            rc = ERR_DB;
            snprintf(err, err_size, "record migration: %s", db_errmsg(d));
            goto fail;
        }
        db_bind_int64(s, 1, list[i].version);
        db_bind_text(s, 2, list[i].name);
        db_bind_int64(s, 3, now_ms());
        if ((rc = db_run(s)) < 0) {
            snprintf(err, err_size, "record migration: %s", db_errmsg(d));
            goto fail;
        }
        count++;
    }
    if ((rc = db_commit(d)) < 0) {
        snprintf(err, err_size, "commit: %s", db_errmsg(d));
        goto fail;
    }
    return count;
fail:
    db_rollback(d);
    return rc;
}

// SPDX-License-Identifier: MIT
// Profiles: avatars and covers from the user's own image media (set, shown, cleared, cleared
// again when the media is deleted), the one user summary (avatar, verified badge, display name
// falling back to the handle) in every place a user is embedded, users looked up by id, and the
// name validator on every user-visible name.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, uniqueUser } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';
import { tinyPng } from './lib/images.mjs';

let server, url;
before(async () => {
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] });
  url = server.url;
});
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const admin = async () => {
  const creds = uniqueUser('adm');
  createUserCli(server, { ...creds, role: 'admin' });
  return { tokens: await login(url, creds.handle, creds.password), creds };
};

/** Uploads a tiny PNG as who's media and waits until it is processed. */
async function readyImage(who) {
  const m = ok(await c().post('/api/v1/media', { token: tok(who), body: tinyPng(), headers: { 'content-type': 'image/png' } }), 201);
  for (let i = 0; i < 300; i++) {
    const got = ok(await c().get(`/api/v1/media/${m.id}`, { token: tok(who) }));
    if (got.state === 'ready') return got;
    assert.notEqual(got.state, 'failed', JSON.stringify(got));
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('media never became ready');
}

const me = async (who) => ok(await c().get('/api/v1/users/me', { token: tok(who) }));
const patchMe = (who, json) => c().patch('/api/v1/users/me', { token: tok(who), json });
/** The media id and file a signed media URL points at. */
const target = (u) => { const m = new URL(u, url).pathname.match(/^\/api\/v1\/media\/(\d+)\/(.+)$/); return m && { id: m[1], file: m[2] }; };

describe('avatars and covers', () => {
  test('set from own ready images: the profile shows every size, summaries the small one, all signed', async () => {
    const a = await register(url);
    const img = await readyImage(a), cov = await readyImage(a);
    const p = ok(await patchMe(a, { avatar_media_id: img.id, cover_media_id: cov.id }));
    assert.deepEqual(target(p.avatar), { id: img.id, file: 'thumb_160.jpg' });
    assert.deepEqual(Object.keys(p.avatar_sizes).sort(), ['image', 'thumbnail_160', 'thumbnail_480', 'thumbnail_720']);
    assert.deepEqual(target(p.avatar_sizes.thumbnail_480), { id: img.id, file: 'thumb_480.jpg' });
    assert.deepEqual(target(p.cover.image), { id: cov.id, file: 'image.jpg' });
    assert.equal(p.avatar_media_id, img.id);
    assert.equal(p.cover_media_id, cov.id);
    // anyone may fetch the signed URL, without a token; a tampered one is refused
    const pic = await fetch(new URL(p.avatar, url));
    assert.equal(pic.status, 200);
    assert.equal(pic.headers.get('content-type'), 'image/jpeg');
    const tampered = new URL(p.avatar, url);
    const sig = tampered.searchParams.get('sig');
    tampered.searchParams.set('sig', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    assert.equal((await fetch(tampered)).status, 403);
    // others see the same images, but not the media ids
    const seen = ok(await c().get(`/api/v1/users/${a.creds.handle}`));
    assert.deepEqual(target(seen.avatar), { id: img.id, file: 'thumb_160.jpg' });
    assert.deepEqual(target(seen.cover.thumbnail_720), { id: cov.id, file: 'thumb_720.jpg' });
    assert.equal(seen.avatar_media_id, undefined);
    // null clears one and leaves the other
    const cleared = ok(await patchMe(a, { avatar_media_id: null }));
    assert.equal(cleared.avatar, null);
    assert.equal(cleared.avatar_sizes, null);
    assert.deepEqual(target(cleared.cover.image), { id: cov.id, file: 'image.jpg' });
    // other fields leave both as they are
    const other = ok(await patchMe(a, { bio: 'hello' }));
    assert.equal(other.avatar, null);
    assert.equal(other.cover_media_id, cov.id);
  });

  test('bad ids: wrong types 422, unknown or another user\'s media 404, no token 401; nothing changes', async () => {
    const a = await register(url), b = await register(url);
    const mine = await readyImage(a), theirs = await readyImage(b);
    ok(await patchMe(a, { avatar_media_id: mine.id }));
    for (const [json, field, reason] of [
      [{ avatar_media_id: 12 }, 'avatar_media_id', 'must_be_string'],
      [{ avatar_media_id: 'abc' }, 'avatar_media_id', 'invalid_format'],
      [{ cover_media_id: '0' }, 'cover_media_id', 'invalid_format'],
      [{ cover_media_id: true }, 'cover_media_id', 'must_be_string'],
      [{ avatar_media_id: ['1'] }, 'avatar_media_id', 'must_be_string'],
    ]) {
      const r = await patchMe(a, json);
      expectError(r, 422, 'validation_failed');
      assert.deepEqual([r.json.error.details.field, r.json.error.details.reason], [field, reason], JSON.stringify(json));
    }
    expectError(await patchMe(a, { avatar_media_id: theirs.id }), 404, 'media_not_found');
    expectError(await patchMe(a, { cover_media_id: '987654321987' }), 404, 'media_not_found');
    // a bad id fails the whole update: the valid fields beside it are not written either
    expectError(await patchMe(a, { bio: 'changed', avatar_media_id: theirs.id }), 404, 'media_not_found');
    expectError(await c().patch('/api/v1/users/me', { json: { avatar_media_id: null } }), 401);
    expectError(await c().patch('/api/v1/users/me', { token: 'nope', json: { avatar_media_id: null } }), 401);
    const now = await me(a);
    assert.equal(now.avatar_media_id, mine.id);
    assert.equal(now.bio, '');
    assert.equal(ok(await c().get(`/api/v1/users/${b.creds.handle}`)).avatar, null);
  });

  test('deleting the media clears the avatar and cover', async () => {
    const a = await register(url);
    const img = await readyImage(a);
    ok(await patchMe(a, { avatar_media_id: img.id, cover_media_id: img.id }));
    assert.equal((await c().del(`/api/v1/media/${img.id}`, { token: tok(a) })).status, 204);
    const p = await me(a);
    assert.deepEqual([p.avatar, p.avatar_sizes, p.cover, p.avatar_media_id, p.cover_media_id], [null, null, null, null, null]);
  });
});

describe('the user summary', () => {
  test('avatar, verified and display name wherever a user is embedded', async () => {
    const adm = await admin();
    const a = await register(url, { display_name: 'Ana A.' });
    const b = await register(url); // no display name: the handle stands in
    const img = await readyImage(a);
    ok(await patchMe(a, { avatar_media_id: img.id }));
    ok(await c().post(`/api/v1/admin/users/${a.user.id}/badges`, { token: adm.tokens.access_token, json: { badge: 'verified' } }));
    const check = (u, who, where) => {
      assert.ok(u, where);
      if (who === a) {
        assert.deepEqual([u.id, u.handle, u.display_name, u.verified], [a.user.id, a.creds.handle, 'Ana A.', true], where);
        assert.deepEqual(target(u.avatar), { id: img.id, file: 'thumb_160.jpg' }, where);
      } else {
        assert.deepEqual([u.id, u.handle, u.display_name, u.verified, u.avatar], [b.user.id, b.creds.handle, b.creds.handle, false, null], where);
      }
    };
    ok(await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) }));
    ok(await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: tok(a) }));
    const post = ok(await c().post('/api/v1/posts', { token: tok(a), json: { type: 'text', caption: 'hi there' } }), 201);
    check(post.author, a, 'created post');
    check(ok(await c().get(`/api/v1/posts/${post.id}`)).author, a, 'post');
    check(ok(await c().get('/api/v1/feed/home', { token: tok(b) })).items.find((p) => p.id === post.id).author, a, 'home feed');
    check(ok(await c().get(`/api/v1/users/${a.creds.handle}/posts`)).items[0].author, a, 'profile posts');
    const cm = ok(await c().post(`/api/v1/posts/${post.id}/comments`, { token: tok(b), json: { body: 'nice' } }), 201);
    check(cm.author, b, 'comment');
    check(ok(await c().get(`/api/v1/posts/${post.id}/comments`)).items[0].author, b, 'comments');
    ok(await c().post(`/api/v1/posts/${post.id}/reactions`, { token: tok(b), json: { type: 'like' } }));
    check(ok(await c().get(`/api/v1/posts/${post.id}/reactions`)).items[0].user, b, 'reactions');
    ok(await c().post('/api/v1/posts', { token: tok(a), json: { type: 'story', caption: 'story' } }), 201);
    const group = ok(await c().get('/api/v1/stories', { token: tok(b) })).items.find((g) => g.author.id === a.user.id);
    check(group.author, a, 'story group');
    check(group.stories[0].author, a, 'story');
    const notes = ok(await c().get('/api/v1/notifications', { token: tok(b) })).items;
    check(notes.find((n) => n.type === 'follow').actor, a, 'notification actor');
    check(ok(await c().get(`/api/v1/users/${a.creds.handle}/followers`)).items[0], b, 'followers');
    check(ok(await c().get(`/api/v1/users/${b.creds.handle}/followers`)).items[0], a, 'followers');
    const conv = ok(await c().post('/api/v1/conversations', { token: tok(b), json: { kind: 'direct', member_ids: [a.user.id] } }), 201);
    const full = ok(await c().get(`/api/v1/conversations/${conv.id}`, { token: tok(b) }));
    check(full.peer, a, 'conversation peer');
    check(full.members.find((m) => m.user.id === a.user.id).user, a, 'conversation member');
    check(full.members.find((m) => m.user.id === b.user.id).user, b, 'conversation member');
    const found = ok(await c().get(`/api/v1/search?type=users&q=${a.creds.handle}`));
    check(found.items.find((u) => u.id === a.user.id), a, 'search');
    const profile = ok(await c().get(`/api/v1/users/${a.creds.handle}`));
    check(profile, a, 'profile');
    // revoking the badge shows at once
    ok(await c().del(`/api/v1/admin/users/${a.user.id}/badges?badge=verified`, { token: adm.tokens.access_token }));
    assert.equal(ok(await c().get(`/api/v1/posts/${post.id}`)).author.verified, false);
  });
});

describe('users by id', () => {
  test('GET /users/by-id/:id is the handle route\'s profile, with its visibility', async () => {
    const a = await register(url, { display_name: 'Ida' }), b = await register(url), x = await register(url);
    const byHandle = ok(await c().get(`/api/v1/users/${a.creds.handle}`, { token: tok(b) }));
    const byId = ok(await c().get(`/api/v1/users/by-id/${a.user.id}`, { token: tok(b) }));
    assert.deepEqual(byId, byHandle);
    assert.equal(ok(await c().get(`/api/v1/users/by-id/${a.user.id}`)).display_name, 'Ida');
    // own id shows the private fields, as /users/me does
    assert.equal(ok(await c().get(`/api/v1/users/by-id/${a.user.id}`, { token: tok(a) })).email, a.creds.email);
    for (const bad of ['987654321987', 'abc', '0', '-1', '1'.repeat(30)])
      expectError(await c().get(`/api/v1/users/by-id/${bad}`), 404, 'user_not_found');
    // someone who blocks you does not exist for you; the one you block still does
    ok(await c().post(`/api/v1/users/${x.creds.handle}/block`, { token: tok(a) }), 204);
    expectError(await c().get(`/api/v1/users/by-id/${a.user.id}`, { token: tok(x) }), 404, 'user_not_found');
    assert.equal(ok(await c().get(`/api/v1/users/by-id/${x.user.id}`, { token: tok(a) })).relationship.blocking, true);
    expectError(await c().get(`/api/v1/users/by-id/${a.user.id}`, { token: 'not-a-token' }), 401);
  });

  test('GET /users/by-id?ids= answers summaries in the order asked, leaving out unknown and blocking users', async () => {
    const a = await register(url), b = await register(url), x = await register(url);
    const img = await readyImage(b);
    ok(await patchMe(b, { avatar_media_id: img.id }));
    const ids = (...us) => us.map((u) => (typeof u === 'string' ? u : u.user.id)).join(',');
    let r = ok(await c().get(`/api/v1/users/by-id?ids=${ids(b, a, '987654321987', b, x)}`));
    assert.deepEqual(r.items.map((u) => u.id), [b.user.id, a.user.id, x.user.id]);
    assert.deepEqual(Object.keys(r.items[0]).sort(), ['avatar', 'display_name', 'handle', 'id', 'verified']);
    assert.deepEqual(target(r.items[0].avatar), { id: img.id, file: 'thumb_160.jpg' });
    ok(await c().post(`/api/v1/users/${x.creds.handle}/block`, { token: tok(a) }), 204);
    r = ok(await c().get(`/api/v1/users/by-id?ids=${ids(a, b)}`, { token: tok(x) }));
    assert.deepEqual(r.items.map((u) => u.id), [b.user.id], 'a blocks x: hidden from x');
    r = ok(await c().get(`/api/v1/users/by-id?ids=${ids(a, x)}`, { token: tok(a) }));
    assert.deepEqual(r.items.map((u) => u.id), [a.user.id, x.user.id], 'a still sees whom a blocks, and itself');
    assert.deepEqual(ok(await c().get('/api/v1/users/by-id?ids=987654321987')).items, []);
    // exactly the limit is fine
    const fifty = Array.from({ length: 50 }, () => a.user.id).join(',');
    assert.deepEqual(ok(await c().get(`/api/v1/users/by-id?ids=${fifty}`)).items.map((u) => u.id), [a.user.id]);
  });

  test('GET /users/by-id?ids= bad input is 422 naming the reason, bad tokens 401', async () => {
    const a = await register(url);
    const fiftyOne = Array.from({ length: 51 }, () => a.user.id).join(',');
    for (const [q, reason] of [['', 'required'], ['?ids=', 'required'], ['?ids=abc', 'invalid_format'],
      [`?ids=${a.user.id},x`, 'invalid_format'], [`?ids=${a.user.id},,${a.user.id}`, 'invalid_format'],
      [`?ids=${a.user.id},`, 'invalid_format'], ['?ids=-5', 'invalid_format'], ['?ids=1.5', 'invalid_format'],
      [`?ids=${'9'.repeat(40)}`, 'invalid_format'], [`?ids=${fiftyOne}`, 'too_many']]) {
      const r = await c().get(`/api/v1/users/by-id${q}`);
      expectError(r, 422, 'validation_failed');
      assert.deepEqual([r.json.error.details.field, r.json.error.details.reason], ['ids', reason], q);
      if (reason === 'too_many') assert.match(r.json.error.message, /50/);
    }
    expectError(await c().get(`/api/v1/users/by-id?ids=${a.user.id}`, { token: 'not-a-token' }), 401);
    expectError(await c().post(`/api/v1/users/by-id?ids=${a.user.id}`, { token: tok(a) }), 405);
  });
});

describe('user-visible names', () => {
  // one rule (validate_name): trimmed; no C0/C1 controls, bidi formatting, or invisible
  // characters; ZWJ/ZWNJ only inside a word or emoji sequence
  const refused = ['Ana\u0085', 'Ana\u202egnp.exe', '\u2066Ana\u2069', 'A\u200bna', '\u200dAna', 'Ana \u200c x',
    '\u3164', 'Ana\u200f', 'a\tb', '\ufeffAna'];
  const accepted = [['  Ana  ', 'Ana'], ['می\u200cخواهم', 'می\u200cخواهم'], ['👨\u200d👩\u200d👧 fam', '👨\u200d👩\u200d👧 fam'],
    ['\u00a0Ñúñez\u3000', 'Ñúñez']];
  const invalid = (r, field, reason) => {
    expectError(r, 422, 'validation_failed');
    assert.deepEqual([r.json.error.details.field, r.json.error.details.reason], [field, reason], r.text);
  };

  test('display_name on register and PATCH /users/me', async () => {
    const a = await register(url, { display_name: 'Before' });
    for (const bad of refused) {
      invalid(await patchMe(a, { display_name: bad }), 'display_name', 'invalid_characters');
      invalid(await c().post('/api/v1/auth/register', { json: { ...uniqueUser(), display_name: bad } }), 'display_name', 'invalid_characters');
    }
    assert.equal((await me(a)).display_name, 'Before', 'refused names change nothing');
    for (const [given, stored] of accepted) {
      assert.equal(ok(await patchMe(a, { display_name: given })).display_name, stored);
      assert.equal((await me(a)).display_name, stored);
    }
    const creds = uniqueUser();
    const r = ok(await c().post('/api/v1/auth/register', { json: { ...creds, display_name: '  Spaced  ' } }), 201);
    assert.equal(r.user.display_name, 'Spaced');
    // blank clears it: the handle stands in
    assert.equal(ok(await patchMe(a, { display_name: '   ' })).display_name, a.creds.handle);
    assert.equal(ok(await patchMe(a, { display_name: '' })).display_name, a.creds.handle);
  });

  test('circle names on create and rename', async () => {
    const a = await register(url);
    const circle = ok(await c().post('/api/v1/circles', { token: tok(a), json: { name: 'Close' } }), 201);
    for (const bad of refused) {
      invalid(await c().post('/api/v1/circles', { token: tok(a), json: { name: bad } }), 'name', 'invalid_characters');
      invalid(await c().patch(`/api/v1/circles/${circle.id}`, { token: tok(a), json: { name: bad } }), 'name', 'invalid_characters');
    }
    for (const blank of ['   ', '\u3000\u00a0'])
      invalid(await c().post('/api/v1/circles', { token: tok(a), json: { name: blank } }), 'name', 'required');
    invalid(await c().patch(`/api/v1/circles/${circle.id}`, { token: tok(a), json: { name: ' ' } }), 'name', 'required');
    assert.deepEqual(ok(await c().get('/api/v1/circles', { token: tok(a) })).items.map((x) => x.name), ['Close']);
    for (const [given, stored] of accepted) {
      assert.equal(ok(await c().patch(`/api/v1/circles/${circle.id}`, { token: tok(a), json: { name: given } })).name, stored);
      assert.equal(ok(await c().get(`/api/v1/circles/${circle.id}`, { token: tok(a) })).name, stored);
    }
    assert.equal(ok(await c().post('/api/v1/circles', { token: tok(a), json: { name: ' New ' } }), 201).name, 'New');
  });

  test('group conversation titles on create and rename', async () => {
    const a = await register(url), b = await register(url);
    const group = (title) => c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'group', title, member_ids: [b.user.id] } });
    const conv = ok(await group('Team'), 201);
    for (const bad of refused) {
      invalid(await group(bad), 'title', 'invalid_characters');
      invalid(await c().patch(`/api/v1/conversations/${conv.id}`, { token: tok(a), json: { title: bad } }), 'title', 'invalid_characters');
    }
    invalid(await group('   '), 'title', 'required');
    invalid(await c().patch(`/api/v1/conversations/${conv.id}`, { token: tok(a), json: { title: '\u3000' } }), 'title', 'required');
    assert.equal(ok(await c().get(`/api/v1/conversations/${conv.id}`, { token: tok(b) })).title, 'Team');
    assert.equal(ok(await c().get('/api/v1/conversations', { token: tok(a) })).items.length, 1, 'refused groups were not made');
    for (const [given, stored] of accepted) {
      ok(await c().patch(`/api/v1/conversations/${conv.id}`, { token: tok(a), json: { title: given } }));
      assert.equal(ok(await c().get(`/api/v1/conversations/${conv.id}`, { token: tok(b) })).title, stored);
    }
    assert.equal(ok(await group('  Trimmed  '), 201).title, 'Trimmed');
  });
});

// SPDX-License-Identifier: MIT
// Search (GET /api/v1/search): users by handle prefix and by the words of their handle, name and
// bio; posts by caption words; the ranking; visibility and blocks; deleted and edited posts;
// cursor pagination without repeats; and bad input, including text-engine syntax, which is
// answered 422 or with results but never 500. Every test searches for its own random words, so
// tests do not see each other's rows.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';
// bounds errors also carry details.min/max (tests/e2e/lists.test.mjs checks those)
const fieldReason = (r) => ({ field: r.json.error.details.field, reason: r.json.error.details.reason });

let url;
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url; });
after(stopAll);

const c = () => client(url);
/** A random lowercase word: letters only, so every engine reads it as one plain word. */
const word = (n = 9) => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');
const tok = (who) => (who ? who.tokens.access_token : undefined);
const search = (q, { type, who, limit, cursor } = {}) => {
  const params = new URLSearchParams({ q });
  if (type) params.set('type', type);
  if (limit) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  return c().get(`/api/v1/search?${params.toString().replace(/\+/g, '%20')}`, { token: tok(who) });
};
const ok = async (q, opts) => {
  const r = await search(q, opts);
  assert.equal(r.status, 200, `${q}: ${r.text}`);
  return r.json;
};
const handles = async (q, opts) => (await ok(q, opts)).items.map((u) => u.handle);
const postIds = async (q, opts) => (await ok(q, { type: 'posts', ...opts })).items.map((p) => p.id);
const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: tok(who) });
const post = async (who, caption, visibility) => {
  const r = await c().post('/api/v1/posts', { token: tok(who), json: visibility ? { caption, visibility } : { caption } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};
/** Follows next_cursor to the end; returns every item. */
const allPages = async (q, opts) => {
  const items = [];
  let cursor;
  for (let i = 0; i < 100; i++) {
    const page = await ok(q, { ...opts, cursor });
    assert.ok(page.items.length <= (opts.limit || 20));
    items.push(...page.items);
    if (page.next_cursor === null) return items;
    assert.equal(typeof page.next_cursor, 'string');
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
};

describe('search users', () => {
  test('exact handle first, then handle prefix, then name and bio words; followers break ties', async () => {
    const tag = word();
    const exact = await register(url, { handle: tag });
    const amy = await register(url, { handle: `${tag}_amy` });
    const zed = await register(url, { handle: `${tag}_zed` });
    const named = await register(url, { display_name: `Fan ${tag}` });
    const bio = await register(url);
    await c().patch('/api/v1/users/me', { token: tok(bio), json: { bio: `I really like ${tag} and other things too` } });
    for (let i = 0; i < 2; i++) await follow(await register(url), zed);

    const expected = [exact, zed, amy, named, bio].map((u) => u.creds.handle);
    assert.deepEqual(await handles(tag), expected, 'anonymous');
    assert.deepEqual(await handles(tag.toUpperCase(), { who: named }), expected, 'any case, signed in');
    assert.deepEqual(await handles(`  ${tag}\t`), expected, 'trimmed');

    // A shorter prefix matches no handle exactly: the three handle prefixes still lead, and of
    // the two that match alike, the one with more followers comes first.
    const prefix = await handles(tag.slice(0, 5));
    assert.deepEqual(new Set(prefix.slice(0, 3)), new Set(expected.slice(0, 3)));
    assert.ok(prefix.indexOf(zed.creds.handle) < prefix.indexOf(amy.creds.handle));
    assert.deepEqual(prefix.slice(3), expected.slice(3));

    // "@" searches handles only.
    assert.deepEqual(await handles(`@${tag}`), expected.slice(0, 3));
    assert.deepEqual(await handles(`@${tag.slice(0, 4).toUpperCase()}`).then((h) => new Set(h)), new Set(expected.slice(0, 3)));
    assert.deepEqual(await handles(`@${tag}_z`), [zed.creds.handle]);
    assert.deepEqual(await handles('@'), []);

    // Display-name and bio words, in any order, the last one a prefix.
    assert.deepEqual(await handles(`${tag} fa`), [named.creds.handle]);
    assert.deepEqual(await handles(`fan ${tag}`), [named.creds.handle]);
    assert.deepEqual(await handles(`really ${tag.slice(0, 6)}`), [bio.creds.handle]);
    assert.deepEqual(await handles(`${tag} nothingelse`), []);

    // The profile shape of the follow lists, with the relationship for a signed-in viewer.
    const [first] = (await ok(`@${zed.creds.handle}`, { who: exact })).items;
    assert.equal(first.handle, zed.creds.handle);
    assert.deepEqual(first.counts, { followers: 2, following: 0, posts: 0 });
    assert.equal(first.relationship.follows, false);
    assert.equal(first.email, undefined);
  });

  test('profile edits are searchable at once; private accounts are found', async () => {
    const a = await register(url);
    const before = word(), after = word();
    await c().patch('/api/v1/users/me', { token: tok(a), json: { display_name: `Old ${before}` } });
    assert.deepEqual(await handles(before), [a.creds.handle]);
    await c().patch('/api/v1/users/me', { token: tok(a), json: { display_name: `New ${after}`, is_private: true } });
    assert.deepEqual(await handles(before), []);
    const found = (await ok(after)).items;
    assert.deepEqual(found.map((u) => u.handle), [a.creds.handle]);
    assert.equal(found[0].is_private, true);
  });
});

describe('search posts', () => {
  test('caption words, prefix on the last word, ranked by relevance then newest', async () => {
    const a = await register(url);
    const tag = word(), other = word();
    // Posts without the word keep it rare, so its relevance is not flattened.
    for (let i = 0; i < 4; i++) await post(a, `${other} filler number ${i}`);
    const p1 = await post(a, `${tag} alpha`);
    const p2 = await post(a, `${tag} ${tag} ${tag} beta`);
    const p3 = await post(a, `${tag} gamma`);
    assert.deepEqual(await postIds(tag), [p2, p3, p1], 'more occurrences first, then newest');
    assert.deepEqual(await postIds(tag.slice(0, 4)), [p2, p3, p1], 'the last word is a prefix');
    assert.deepEqual(await postIds(`${tag} bet`), [p2]);
    assert.deepEqual(await postIds(`beta ${tag}`), [p2], 'word order does not matter');
    assert.deepEqual(await postIds(`${tag.toUpperCase()} GAMMA`), [p3]);
    assert.deepEqual(await postIds(`${tag} delta`), []);
    const [hit] = (await ok(`${tag} alpha`, { type: 'posts' })).items;
    assert.equal(hit.caption, `${tag} alpha`);
    assert.equal(hit.author.handle, a.creds.handle);
    assert.equal(hit.visibility, 'public');
  });

  test('edits re-index and deleted posts are never found', async () => {
    const a = await register(url);
    const tag = word(), oldWord = word(), newWord = word();
    const id = await post(a, `${tag} ${oldWord}`);
    assert.deepEqual(await postIds(oldWord), [id]);
    await c().patch(`/api/v1/posts/${id}`, { token: tok(a), json: { caption: `${tag} ${newWord}` } });
    assert.deepEqual(await postIds(oldWord), []);
    assert.deepEqual(await postIds(newWord), [id]);
    assert.equal((await c().del(`/api/v1/posts/${id}`, { token: tok(a) })).status, 204);
    for (const who of [null, a]) {
      assert.deepEqual(await postIds(tag, { who }), []);
      assert.deepEqual(await postIds(newWord, { who }), []);
    }
  });

  test('visibility: each viewer finds exactly the posts GET /posts/:id shows them', async () => {
    const tag = word();
    const author = await register(url);
    const follower = await register(url);
    const friend = await register(url);
    const stranger = await register(url);
    await follow(follower, author);
    await follow(friend, author);
    await follow(author, friend);
    const posts = {};
    for (const v of ['public', 'followers', 'friends', 'private']) posts[v] = await post(author, `${tag} ${v}`, v);
    const viewers = { author, follower, friend, stranger, anonymous: null };
    const check = async (expected) => {
      for (const [name, who] of Object.entries(viewers)) {
        const found = new Set(await postIds(tag, { who }));
        const want = new Set(expected[name].map((v) => posts[v]));
        assert.deepEqual(found, want, `${name}`);
      }
    };
    await check({
      author: ['public', 'followers', 'friends', 'private'],
      follower: ['public', 'followers'],
      friend: ['public', 'followers', 'friends'],
      stranger: ['public'],
      anonymous: ['public'],
    });
    // A private account's posts, even public ones, are for its followers only.
    await c().patch('/api/v1/users/me', { token: tok(author), json: { is_private: true } });
    await check({
      author: ['public', 'followers', 'friends', 'private'],
      follower: ['public', 'followers'],
      friend: ['public', 'followers', 'friends'],
      stranger: [],
      anonymous: [],
    });
  });
});

describe('blocks', () => {
  test('users blocked either way are never found, nor are their posts', async () => {
    const tag = word();
    const x = await register(url, { display_name: `Ex ${tag}` });
    const y = await register(url, { display_name: `Why ${tag}` });
    const z = await register(url, { display_name: `Zed ${tag}` });
    const px = await post(x, `${tag} from x`);
    const py = await post(y, `${tag} from y`);
    const pz = await post(z, `${tag} from z`);
    assert.equal((await c().post(`/api/v1/users/${y.creds.handle}/block`, { token: tok(x) })).status, 204);

    const see = async (who) => ({ users: new Set(await handles(tag, { who })), posts: new Set(await postIds(tag, { who })) });
    const hx = x.creds.handle, hy = y.creds.handle, hz = z.creds.handle;
    assert.deepEqual(await see(x), { users: new Set([hx, hz]), posts: new Set([px, pz]) }, 'the blocker');
    assert.deepEqual(await see(y), { users: new Set([hy, hz]), posts: new Set([py, pz]) }, 'the blocked');
    assert.deepEqual(await see(z), { users: new Set([hx, hy, hz]), posts: new Set([px, py, pz]) }, 'a third user');
    assert.deepEqual(await see(null), { users: new Set([hx, hy, hz]), posts: new Set([px, py, pz]) }, 'anonymous');
    assert.deepEqual(await handles(`@${hx}`, { who: y }), [], 'not by handle either');
    assert.deepEqual(await handles(`@${hy}`, { who: x }), []);

    assert.equal((await c().del(`/api/v1/users/${y.creds.handle}/block`, { token: tok(x) })).status, 204);
    assert.deepEqual(await see(y), { users: new Set([hx, hy, hz]), posts: new Set([px, py, pz]) }, 'after unblocking');
  });
});

describe('pagination', () => {
  test('users: pages in ranked order without repeats or gaps', async () => {
    const tag = word();
    for (let i = 0; i < 12; i++) await register(url, { display_name: `${tag} ${i % 3 ? 'person' : `${tag} person`}` });
    const all = (await ok(tag, { limit: 100 })).items.map((u) => u.id);
    assert.equal(all.length, 12);
    const paged = (await allPages(tag, { limit: 5 })).map((u) => u.id);
    assert.deepEqual(paged, all);
    const first = await ok(tag, { limit: 5 });
    assert.equal(first.items.length, 5);
    const second = await ok(tag, { limit: 5, cursor: first.next_cursor });
    assert.deepEqual(second.items.map((u) => u.id), all.slice(5, 10));
  });

  test('posts: pages without repeats, also when the visibility gate drops candidates', async () => {
    const tag = word();
    const author = await register(url);
    const fan = await register(url);
    await follow(fan, author); // one-way: friends-only posts pass the SQL pre-filter, not the gate
    const visible = [];
    for (let i = 0; i < 18; i++) {
      const friendsOnly = i % 3 !== 0;
      const id = await post(author, `${tag} ${'more '.repeat(i % 4)}${i}`, friendsOnly ? 'friends' : 'public');
      if (!friendsOnly) visible.push(id);
    }
    for (const limit of [1, 2, 4]) {
      const ids = (await allPages(tag, { type: 'posts', who: fan, limit })).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `no repeats (limit ${limit})`);
      assert.deepEqual(new Set(ids), new Set(visible), `every visible post (limit ${limit})`);
    }
    const byAuthor = (await allPages(tag, { type: 'posts', who: author, limit: 7 })).map((p) => p.id);
    assert.equal(byAuthor.length, 18);
    assert.deepEqual(byAuthor, (await ok(tag, { type: 'posts', who: author, limit: 100 })).items.map((p) => p.id));
  });
});

describe('bad input', () => {
  test('422 validation_failed naming the field and reason', async () => {
    const a = await register(url);
    const tag = word();
    for (let i = 0; i < 3; i++) await register(url, { display_name: `${tag} ${i}` });
    const first = await ok(tag, { limit: 1 });
    assert.ok(first.next_cursor);
    const cases = [
      ['', {}, 'q', 'required'],
      ['q=', {}, 'q', 'required'],
      ['q=%20%20%09', {}, 'q', 'required'],
      [`q=${'x'.repeat(101)}`, {}, 'q', 'too_long'],
      [`q=%20${'x'.repeat(100)}%20`, null],
      [`q=${'%C3%A9'.repeat(100)}`, null],
      [`q=${'%C3%A9'.repeat(101)}`, {}, 'q', 'too_long'],
      ['q=x%FF', {}, 'q', 'invalid_format'],
      ['q=%C0%AF', {}, 'q', 'invalid_format'],
      ['q=x&type=people', {}, 'type', 'not_allowed'],
      ['q=x&type=tags', {}, 'type', 'not_allowed'],
      ['q=x&limit=0', {}, 'limit', 'out_of_range'],
      ['q=x&limit=101', {}, 'limit', 'out_of_range'],
      ['q=x&limit=abc', {}, 'limit', 'out_of_range'],
      ['q=x&cursor=abc', {}, 'cursor', 'invalid_format'],
      ['q=x&cursor=12345', {}, 'cursor', 'invalid_format'],
      ['q=x&cursor=%22%27%3B--', {}, 'cursor', 'invalid_format'],
      [`q=${tag}x&cursor=${first.next_cursor}`, {}, 'cursor', 'query_changed'],
      [`q=${tag}&type=posts&cursor=${first.next_cursor}`, {}, 'cursor', 'query_changed'],
    ];
    for (const [query, want, field, reason] of cases) {
      for (const who of [null, a]) {
        const r = await c().get(`/api/v1/search?${query}`, { token: tok(who) });
        if (want === null) {
          assert.equal(r.status, 200, `${query}: ${r.text}`);
          continue;
        }
        expectError(r, 422, 'validation_failed');
        assert.deepEqual(fieldReason(r), { field, reason }, query);
      }
    }
    const next = await ok(tag, { limit: 1, cursor: first.next_cursor });
    assert.equal(next.items.length, 1, 'the cursor works with its own query');
    expectError(await c().get('/api/v1/search?q=x', { token: 'not-a-token' }), 401);
  });

  test('text-engine syntax is plain text: 200 with results or none, never 500', async () => {
    const a = await register(url, { display_name: 'Syntax Tester' });
    const tag = word();
    const id = await post(a, `${tag} caption with "quotes" and (parens) and NEAR things`);
    const nasty = ['"', '""', '*', '(', ')', '()', '-', ':', '^', "'", '\\', '&', '|', '!', '<->', '@', '@@', '#',
      'NEAR', 'NEAR(a b)', 'NEAR/2', 'AND', 'OR', 'NOT', 'a OR b', 'a AND NOT b', '-x', 'caption:x', '{caption}:x',
      'handle:x', 'x*', '*x', 'x"', '"x', "x'", "'x'", 'x:*', 'x & y', '!x', 'x <-> y', '(x | y)', "'; DROP TABLE posts; --",
      '%', '_', '%_%', '😀', '😀😀 x', '。', '\u00a0', 'a\u0301', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'ＮＥＡＲ', '..', '.', '@.', '@_x', 'x'.repeat(100)];
    for (const q of nasty)
      for (const type of ['users', 'posts'])
        for (const who of [null, a]) {
          const r = await search(q, { type, who });
          assert.equal(r.status, 200, `${type} ${JSON.stringify(q)}: ${r.text}`);
          assert.ok(Array.isArray(r.json.items));
        }
    // Around real words, the syntax is only a separator.
    for (const q of [`"${tag}`, `${tag}*`, `(${tag})`, `-${tag}`, `caption:${tag}`, `NEAR(${tag} quotes)`, `${tag} "quot`, `${tag}:*`, `'${tag}' & near`, `${tag} (paren`])
      assert.deepEqual(await postIds(q), [id], q);
    assert.deepEqual(await handles('"syntax tester"'), [a.creds.handle]);
  });
});

describe('hashtags', () => {
  test('by tag prefix: the exact tag first, then the most used; only tags with live posts; paged', async () => {
    const a = await register(url);
    const stem = word(8);
    await post(a, `#${stem}`);
    for (let i = 0; i < 3; i++) await post(a, `#${stem}pop number ${i}`);
    await post(a, `#${stem}mid and #${stem}MID again`);
    await post(a, `#${stem}mid second`);
    const gone = await post(a, `#${stem}gone`);
    await c().del(`/api/v1/posts/${gone}`, { token: tok(a) });
    const tags = async (q, opts) => (await ok(q, { type: 'hashtags', ...opts })).items;
    const all = await tags(stem);
    assert.deepEqual(all.map((t) => [t.tag, t.post_count]), [[stem, 1], [`${stem}pop`, 3], [`${stem}mid`, 2]]);
    assert.deepEqual((await tags(`#${stem.toUpperCase()}M`)).map((t) => t.tag), [`${stem}mid`], 'a leading # and any case');
    assert.deepEqual(await tags('two words'), [], 'not a tag: nothing');
    assert.deepEqual(await tags('100%_!'), []);
    const seen = [];
    let cursor;
    do {
      const page = await ok(stem, { type: 'hashtags', limit: 1, cursor });
      seen.push(...page.items.map((t) => t.tag));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, all.map((t) => t.tag));
    const first = await ok(stem, { type: 'hashtags', limit: 1 });
    expectError(await search(stem, { type: 'users', cursor: first.next_cursor }), 422, 'validation_failed');
  });
});

// Arabic as people type it (core/textfold.h): alef forms, teh marbuta and heh, alef maqsura and
// yeh, harakat, tatweel and Arabic-Indic digits are folded in the index and in the query, so
// every spelling finds every other. Each test makes its own random stem of letters no rule
// touches, and each rule is checked both ways, as the last word (a prefix) and as a whole word.
const LETTERS = 'بتثجحخدذرزسشصضطظعغفقكلمن';
const stem = (n = 5) => Array.from({ length: n }, () => LETTERS[randomInt(LETTERS.length)]).join('');
const MARKS = ['\u064E', '\u064F', '\u0650', '\u0651', '\u0652', '\u064B'];
/** Spellings of one word that must find each other: [rule, as written, as typed], each with its
 * own stem (the alef forms all fold to one word, so they must not share one). */
const spellings = () => [
  ['teh marbuta / heh', (s) => [`${s}ة`, `${s}ه`]],
  ['alef with hamza above', (s) => [`أ${s}`, `ا${s}`]],
  ['alef with hamza below', (s) => [`إ${s}`, `ا${s}`]],
  ['alef with madda', (s) => [`آ${s}`, `ا${s}`]],
  ['alef wasla', (s) => [`ٱ${s}`, `ا${s}`]],
  ['alef maqsura / yeh', (s) => [`${s}ى`, `${s}ي`]],
  ['harakat', (s) => [[...s].map((ch, i) => ch + MARKS[i % MARKS.length]).join(''), s]],
  ['tatweel', (s) => [`${s[0]}ـــ${s.slice(1)}`, s]],
].map(([rule, make]) => [rule, ...make(stem())]);

describe('Arabic', () => {
  test('posts: every spelling finds every other, as a prefix and as a whole word', async () => {
    const a = await register(url);
    for (const [rule, written, typed] of spellings()) {
      const marker = word();
      const id = await post(a, `${written} ${marker}`);
      for (const q of [written, typed]) {
        assert.deepEqual(await postIds(q), [id], `${rule}: "${q}" as the last word`);
        assert.deepEqual(await postIds(`${q} ${marker}`), [id], `${rule}: "${q}" as a whole word`);
      }
      // and the other way round: the plain spelling stored, the decorated one typed
      const plain = await post(a, `${typed} ${marker}x`);
      assert.deepEqual(await postIds(`${written} ${marker}x`), [plain], `${rule}: reversed`);
    }
  });

  test('posts: the examples of the issue, and Arabic-Indic digits', async () => {
    const a = await register(url);
    const pairs = [['مدرسة', 'مدرسه'], ['أحمد', 'احمد'], ['مُحَمَّد', 'محمد'], ['على', 'علي'], ['جمـــيل', 'جميل']];
    for (const [written, typed] of pairs) {
      const marker = word();
      const id = await post(a, `${written} ${marker}`);
      const other = await post(a, `${typed} ${marker}`);
      for (const q of [written, typed]) assert.deepEqual(new Set(await postIds(`${q} ${marker}`)), new Set([id, other]), q);
    }
    const n = String(randomInt(100000, 999999));
    const indic = [...n].map((d) => String.fromCharCode(0x0660 + Number(d))).join('');
    const eastern = [...n].map((d) => String.fromCharCode(0x06F0 + Number(d))).join('');
    const marker = word();
    const id = await post(a, `سنة ${indic} ${marker}`);
    for (const q of [n, indic, eastern]) assert.deepEqual(await postIds(`${marker} ${q}`), [id], q);
    // Hamza on waw and yeh is kept: a different letter is a different word.
    const s = stem();
    await post(a, `${s}ؤ ${marker}`);
    assert.deepEqual(await postIds(`${s}و ${marker}`), []);
  });

  test('users: display names fold, also after an edit', async () => {
    const s = stem();
    const u = await register(url, { display_name: `أحمد مُحَمَّد ${s}ة` });
    for (const q of [`احمد محمد ${s}ه`, `أحمد مُحَمَّد ${s}ة`, `${s}ه`, `أَحْمَد ${s}`]) {
      assert.deepEqual(await handles(q), [u.creds.handle], q);
    }
    const r = await c().patch('/api/v1/users/me', { token: tok(u), json: { display_name: `جمـــيل ${s}ى`, bio: `مدرسة ${s}` } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await handles(`جميل ${s}ي`), [u.creds.handle], 'the new name');
    assert.deepEqual(await handles(`${s} مدرسه`), [u.creds.handle], 'the bio');
    assert.deepEqual(await handles(`محمد ${s}`), [], 'the old name is gone');
  });

  test('hashtags: tags stay as typed, the search folds', async () => {
    const a = await register(url);
    const s = stem();
    await post(a, `#${s}ة once`);
    await post(a, `#${s}ه twice`);
    await post(a, `again #${s}ه`);
    await post(a, `#مُ${s}`);
    const tags = async (q) => (await ok(q, { type: 'hashtags' })).items.map((t) => [t.tag, t.post_count]);
    const both = [[`${s}ه`, 2], [`${s}ة`, 1]];
    assert.deepEqual(await tags(`#${s}ه`), both, 'both spellings are exact matches, the most used first');
    assert.deepEqual(await tags(`${s}ة`), both);
    assert.deepEqual(await tags(`#${s}`), both, 'prefix');
    assert.deepEqual(await tags(`#م${s}`), [[`مُ${s}`, 1]], 'harakat in a tag');
    assert.deepEqual(await tags(`#مـ${s}`), [[`مُ${s}`, 1]], 'tatweel in the query');
    // Each tag keeps its own posts.
    const listed = await c().get(`/api/v1/hashtags/${encodeURIComponent(`${s}ة`)}/posts`);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.items.length, 1);
  });
});

// Unit tests of the tracker's logic under Node's test runner:
// `node --test tests/tracker/test_tracker_unit.js`
// (test_tracker_unit.py runs this from pytest.)
//
// The tracker is loaded with require() and given a fake env: a clock whose
// timers run only when a test advances it, an in-memory localStorage, and a
// transport that records every request and answers what the test says.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

// WATCHDEPTH_TRACKER=tracker.min.js runs the same tests against the minified copy.
const FILE = process.env.WATCHDEPTH_TRACKER || 'tracker.js';
const { create } = require(path.join(__dirname, '../../src/watchdepth/tracker', FILE));

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const ENDPOINT = 'https://stats.example/collect';
const POSITIONED = new Set(['play', 'progress', 'pause', 'seek', 'ended']);

function harness({ storage = 'memory', status = () => 202 } = {}) {
  let nextTimer = 0;
  const store = new Map();
  let seed = 42;
  const h = {
    t: T0,
    timers: [],
    posts: [], // {url, events, status}
    beacons: [], // {url, events}
    beaconOk: true,
    logs: [],
    status, // (events, attempt) -> HTTP status, or [status, body]
  };
  const env = {
    now: () => h.t,
    random: () => {
      // a small deterministic generator (Park–Miller), so ids differ and runs repeat
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    },
    setTimeout: (f, ms) => {
      const id = ++nextTimer;
      h.timers.push({ id, at: h.t + ms, f });
      return id;
    },
    clearTimeout: (id) => {
      h.timers = h.timers.filter((x) => x.id !== id);
    },
    storage:
      storage === 'memory'
        ? { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, v) }
        : storage === 'throws'
          ? { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('SecurityError'); } }
          : undefined,
    href: () => 'https://site.example/lesson/1?utm=x',
    post: (url, body) => {
      const events = JSON.parse(body);
      let answer = h.status(events, h.posts.length);
      if (!Array.isArray(answer)) answer = [answer, ''];
      h.posts.push({ url, events, status: answer[0] });
      return Promise.resolve(answer);
    },
    beacon: (url, body) => {
      if (!h.beaconOk) return false;
      h.beacons.push({ url, events: JSON.parse(body) });
      return true;
    },
    log: (...args) => h.logs.push(args),
    endpoint: ENDPOINT,
  };
  h.store = store;
  h.wd = create(env);
  // Run every timer due within `ms`, in time order, letting promises settle between them.
  h.advance = async (ms) => {
    const end = h.t + ms;
    for (;;) {
      await settle();
      h.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = h.timers[0];
      if (!next || next.at > end) break;
      h.timers.shift();
      h.t = Math.max(h.t, next.at);
      next.f();
    }
    h.t = end;
    await settle();
  };
  // Events that reached the collector and were stored (2xx), in arrival order.
  h.delivered = () => h.posts.filter((p) => p.status >= 200 && p.status < 300).flatMap((p) => p.events);
  h.sent = () => h.delivered().concat(h.beacons.flatMap((b) => b.events));
  h.types = () => h.sent().map((e) => e.type);
  return h;
}

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

// A stand-in for an HTMLVideoElement: the attributes and events the tracker uses.
class FakeVideo extends EventTarget {
  constructor(attrs = {}, { duration = 60 } = {}) {
    super();
    this.tagName = 'VIDEO';
    this.attrs = attrs;
    this.currentTime = 0;
    this.duration = duration;
    this.paused = true;
    this.ended = false;
    this.readyState = 0;
    this.preload = 'metadata';
    this.playbackRate = 1;
  }
  getAttribute(name) {
    return name in this.attrs ? this.attrs[name] : null;
  }
  fire(type) {
    this.dispatchEvent(new Event(type));
  }
  loadMetadata() {
    this.readyState = 1;
    this.fire('loadedmetadata');
  }
  play() {
    this.paused = false;
    this.fire('play'); // 'playing' and frames: see start() below (quality tests)
  }
  // playback really starts: 'playing', then a timeupdate that advances
  start(step = 0.25) {
    this.fire('playing');
    this.currentTime += step;
    this.fire('timeupdate');
  }
  pause() {
    this.paused = true;
    this.fire('pause');
  }
  seek(to) {
    this.currentTime = to;
    this.fire('seeking');
    this.fire('timeupdate');
    this.fire('seeked');
  }
}

// Play in real-time steps of 250 ms (Chrome's timeupdate cadence) for `seconds` of wall time.
async function playFor(h, v, seconds, { rate = 1, stalled = false } = {}) {
  for (let i = 0; i < seconds * 4; i++) {
    await h.advance(250);
    if (stalled) continue;
    v.currentTime = Math.min(v.duration, v.currentTime + 0.25 * rate);
    v.fire('timeupdate');
    if (v.currentTime >= v.duration) {
      v.paused = v.ended = true;
      v.fire('pause');
      v.fire('ended');
      return;
    }
  }
}

function ready(h, attrs = { 'data-video-id': 'lesson-1' }, opts) {
  const v = new FakeVideo(attrs);
  const handle = h.wd.track(v, opts);
  v.loadMetadata();
  return { v, handle };
}

function near(actual, expected, tol = 0.3) {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected} ± ${tol}`);
}

test('every event carries the wire fields of docs/metrics.md §2', async () => {
  const h = harness();
  const { v } = ready(h, { 'data-video-id': 'lesson-1', 'data-external-id': 'student@example.com' });
  v.play();
  await playFor(h, v, 6);
  v.seek(2);
  v.pause();
  await h.advance(2000);
  const events = h.sent();
  assert.deepEqual(events.map((e) => e.type), ['load', 'play', 'progress', 'seek', 'pause']);
  for (const e of events) {
    assert.equal(e.video_id, 'lesson-1');
    assert.equal(e.stream_id, undefined);
    assert.equal(e.external_id, 'student@example.com');
    assert.equal(e.url, 'https://site.example/lesson/1?utm=x');
    assert.equal(e.duration, 60);
    assert.equal(e.id, `${e.load_id}:${e.seq}`);
    assert.ok(e.id.length <= 64 && e.session_id.length <= 64);
    assert.ok(Number.isInteger(e.ts));
    assert.equal(POSITIONED.has(e.type), typeof e.position === 'number', e.type);
  }
  assert.equal(events[0].position, undefined);
  assert.equal(events.at(-2).from, 6);
  assert.equal(h.posts[0].url, `${ENDPOINT}?s=${events[0].session_id}`);
});

test('a stream broadcast sends stream_id with event_id and no video_id', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-stream-id': 'live-1', 'data-event-id': 'show-7' }, { duration: Infinity });
  h.wd.track(v);
  v.loadMetadata();
  await h.advance(1000);
  const [load] = h.sent();
  assert.equal(load.stream_id, 'live-1');
  assert.equal(load.event_id, 'show-7');
  assert.equal('video_id' in load, false);
  assert.equal('duration' in load, false); // infinite: unknown
});

test('explicit options win over data attributes, and an element without an id is not tracked', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-video-id': 'from-attr' });
  h.wd.track(v, { videoId: 'from-call', externalId: 'u-1', endpoint: 'https://other.example/c', url: 'https://parent.example/' });
  v.loadMetadata();
  await h.advance(1000);
  assert.equal(h.posts[0].url, `https://other.example/c?s=${h.posts[0].events[0].session_id}`);
  assert.equal(h.posts[0].events[0].video_id, 'from-call');
  assert.equal(h.posts[0].events[0].external_id, 'u-1');
  assert.equal(h.posts[0].events[0].url, 'https://parent.example/');
  assert.equal(h.wd.track(new FakeVideo({ 'data-external-id': 'x' })), undefined);
});

test('seq counts 0, 1, 2, … per load, in the order events happen, and load comes first', async () => {
  const h = harness();
  const a = ready(h).v;
  const b = ready(h, { 'data-video-id': 'lesson-2' }).v;
  b.play(); // b plays first
  a.play();
  await playFor(h, a, 5.5);
  a.pause();
  b.pause();
  await h.advance(1000);
  const byLoad = new Map();
  for (const e of h.sent()) byLoad.set(e.load_id, [...(byLoad.get(e.load_id) || []), e]);
  assert.equal(byLoad.size, 2);
  for (const events of byLoad.values()) {
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
    assert.equal(events[0].type, 'load');
  }
  const sessions = new Set(h.sent().map((e) => e.session_id));
  assert.equal(sessions.size, 1, 'two players on one page share the session');
});

test('session: kept across loads, renewed after 30 minutes without activity', async () => {
  const h = harness();
  const first = ready(h).v;
  first.play();
  await h.advance(1000);
  first.pause();
  const s1 = h.sent()[0].session_id;
  // a reload 29 minutes later: a new tracker, the same localStorage
  await h.advance(29 * 60 * 1000);
  const again = ready(h).v;
  again.play();
  await h.advance(1000);
  again.pause();
  const s2 = h.sent().at(-1).session_id;
  assert.equal(s2, s1);
  // 30 minutes and a second of nothing: a new session, also for the same load
  await h.advance(30 * 60 * 1000 + 1000);
  again.play();
  await h.advance(1000);
  const s3 = h.sent().at(-1).session_id;
  assert.notEqual(s3, s1);
  assert.equal(JSON.parse(h.store.get('watchdepth_session')).id, s3);
});

test('session: without localStorage (blocked or throwing) it lives in memory for the page', async () => {
  for (const storage of ['throws', 'absent']) {
    const h = harness({ storage });
    const { v } = ready(h);
    v.play();
    await playFor(h, v, 6);
    const ids = new Set(h.sent().map((e) => e.session_id));
    assert.equal(ids.size, 1, storage);
  }
});

test('heartbeats: one progress per 5 s of playback, none while paused', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 16);
  v.pause();
  await h.advance(60000);
  const progress = h.sent().filter((e) => e.type === 'progress').map((e) => e.position);
  assert.deepEqual(progress, [5, 10, 15]);
  assert.deepEqual(h.types().slice(-1), ['pause']);
});

test('heartbeats: at least every 10 s of wall time, even when the position does not move', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 2);
  await playFor(h, v, 25, { stalled: true }); // buffering
  const progress = h.sent().filter((e) => e.type === 'progress');
  // 10 s after the play, then 10 s after that heartbeat
  assert.deepEqual(progress.map((e) => e.position), [2, 2]);
  assert.deepEqual(progress.map((e) => e.ts - T0), [10000, 20000]);
});

test('heartbeats: at most every 5 s of playback at double speed; every 10 s of wall time at quarter speed', async () => {
  const fast = harness();
  const a = ready(fast).v;
  a.play();
  await playFor(fast, a, 10, { rate: 2 });
  await fast.advance(1000);
  assert.deepEqual(fast.sent().filter((e) => e.type === 'progress').map((e) => e.position), [5, 10, 15, 20]);

  const slow = harness();
  const b = ready(slow).v;
  b.play();
  await playFor(slow, b, 21, { rate: 0.25 });
  await slow.advance(1000);
  const beats = slow.sent().filter((e) => e.type === 'progress');
  assert.deepEqual(beats.map((e) => e.ts - T0), [10000, 20000]);
  near(beats[0].position, 2.5);
  near(beats[1].position, 5);
});

test('seek: from the position before seeking to the one at seeked', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 4);
  v.seek(30); // forward
  await playFor(h, v, 1);
  v.seek(1); // back
  await playFor(h, v, 1);
  v.pause();
  await h.advance(1000);
  const seeks = h.sent().filter((e) => e.type === 'seek');
  assert.deepEqual(seeks.map((e) => [e.from, e.position]), [[4, 30], [31, 1]]);
  // the timeupdate at the new position during the seek is no heartbeat
  assert.equal(h.sent().filter((e) => e.type === 'progress').length, 0);
});

test('seek: scrubbing (several seeking before one seeked) is one seek from where it began', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 3);
  for (const t of [10, 20, 40]) {
    v.currentTime = t;
    v.fire('seeking');
    v.fire('timeupdate');
  }
  v.fire('seeked');
  await h.advance(1000);
  const seeks = h.sent().filter((e) => e.type === 'seek');
  assert.deepEqual(seeks.map((e) => [e.from, e.position]), [[3, 40]]);
});

test('seek: before the first play nothing is sent; the play carries the new position', async () => {
  const h = harness();
  const { v } = ready(h);
  v.seek(12);
  v.play();
  await h.advance(1000);
  assert.deepEqual(h.types(), ['load', 'play']);
  assert.equal(h.sent()[1].position, 12);
});

test('ended, then replay: no pause at the end, and the replay does not reach back to the end', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-video-id': 'short' }, { duration: 3 });
  h.wd.track(v);
  v.loadMetadata();
  v.play();
  await playFor(h, v, 4);
  // play() on an ended video seeks to 0 first: seeking, play, timeupdate, seeked
  v.ended = false;
  v.currentTime = 0;
  v.fire('seeking');
  v.paused = false;
  v.fire('play');
  v.fire('timeupdate');
  v.fire('seeked');
  await h.advance(1000);
  const events = h.sent();
  assert.deepEqual(events.map((e) => e.type), ['load', 'play', 'ended', 'play', 'seek']);
  assert.equal(events[2].position, 3);
  assert.deepEqual([events[4].from, events[4].position], [0, 0]);
});

test('batches: events of about a second go out together', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await h.advance(999);
  assert.equal(h.posts.length, 0);
  await h.advance(1);
  assert.equal(h.posts.length, 1);
  assert.deepEqual(h.posts[0].events.map((e) => e.type), ['load', 'play']);
});

test('retry: a failed batch goes again with the same ids, with growing backoff', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const { v } = ready(h);
  v.play();
  await h.advance(1000); // first attempt
  const times = [h.t];
  while (h.posts.length < 4) {
    if (h.posts.length === 3) down = false;
    const before = h.posts.length;
    while (h.posts.length === before) await h.advance(50);
    times.push(h.t);
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  [1000, 2000, 4000].forEach((base, i) => assert.ok(gaps[i] >= base && gaps[i] <= base * 1.25 + 50, `${gaps}`));
  const ids = h.posts.map((p) => p.events.map((e) => e.id).join(' '));
  assert.ok(ids.every((x) => x === ids[0]), ids.join(' | '));
  assert.deepEqual(h.posts.map((p) => p.status), [503, 503, 503, 202]);
  // network errors (status 0), 408 and 429 are retried too; the backoff starts over after a success
  let answers = [0, 429, 408, 202];
  h.status = () => answers.shift();
  v.pause();
  await h.advance(1000 + 1250 + 2500 + 5000);
  assert.deepEqual(h.posts.slice(4).map((p) => p.status), [0, 429, 408, 202]);
});

test('retry: backoff is capped at 60 s (plus up to 25 % jitter)', async () => {
  const h = harness({ status: () => 503 });
  const { v } = ready(h);
  v.play();
  await h.advance(1000);
  const times = [];
  for (let i = 0; i < 10; i++) {
    const before = h.posts.length;
    while (h.posts.length === before) await h.advance(1000);
    times.push(h.t);
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const bases = [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000];
  bases.forEach((base, i) => assert.ok(gaps[i] >= base && gaps[i] <= base * 1.25 + 1000, `${gaps}`));
});

test('retry: later events wait for the failed batch, and every load arrives in seq order', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 12); // load, play, progress 5, 10 — while the collector is down
  v.pause();
  const first = h.posts[0].events.map((e) => e.id);
  assert.ok(h.posts.every((p) => p.events[0].id === first[0]), 'every attempt starts with the failed batch');
  down = false;
  await h.advance(20000);
  const got = h.delivered();
  assert.deepEqual(got.map((e) => e.seq), [0, 1, 2, 3, 4]);
  assert.deepEqual(got.map((e) => e.type), ['load', 'play', 'progress', 'progress', 'pause']);
  assert.equal(new Set(got.map((e) => e.id)).size, got.length, 'each event stored once');
  assert.deepEqual(got.slice(0, first.length).map((e) => e.id), first);
});

test('a 400 drops only the events it names and sends the rest again', async () => {
  let first = true;
  const h = harness({
    status: (events) => {
      if (!first) return 202;
      first = false;
      const body = { error: { code: 400400, invalid_params: [{ name: 'video_id', reason: 'unknown', index: 1 }] } };
      return [400, JSON.stringify(body)];
    },
  });
  const { v } = ready(h);
  v.play();
  v.pause();
  await h.advance(1000);
  assert.deepEqual(h.posts.map((p) => p.events.map((e) => e.type)), [['load', 'play', 'pause'], ['load', 'pause']]);
});

test('a 202 that counts events as a bot\'s says so in the debug log, once per answer', async () => {
  const h = harness({ status: (events) => [202, JSON.stringify({ accepted: events.length, duplicates: 0, bots: events.length })] });
  h.wd.debug = true;
  const { v } = ready(h);
  v.play();
  v.pause();
  await h.advance(1000);
  const said = h.logs.filter((l) => String(l[0]).startsWith('counted as a bot'));
  assert.equal(said.length, 1);
  assert.match(said[0][0], /User-Agent/);
});

test('a 202 without bots logs no such line', async () => {
  const h = harness();
  h.wd.debug = true;
  const { v } = ready(h);
  v.play();
  await h.advance(1000);
  assert.ok(h.logs.some((l) => l[0] === 'ok'), 'the debug log is on');
  assert.equal(h.logs.filter((l) => String(l[0]).startsWith('counted as a bot')).length, 0);
});

test('any other 4xx drops the batch instead of retrying it forever', async () => {
  const h = harness({ status: () => 404 });
  const { v } = ready(h);
  v.play();
  v.pause();
  await h.advance(1000);
  await h.advance(120000);
  assert.equal(h.posts.length, 1);
  v.play();
  await h.advance(1000);
  assert.deepEqual(h.posts[1].events.map((e) => e.type), ['play']);
});

test('queue cap: a dead endpoint keeps at most 500 events, giving up heartbeats first', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const v = new FakeVideo({ 'data-video-id': 'long' }, { duration: 100000 });
  h.wd.track(v);
  v.loadMetadata();
  v.play();
  await playFor(h, v, 1);
  v.currentTime = 50; // stalled from here: a wall-clock heartbeat every 10 s
  await h.advance(6000 * 1000); // 100 minutes: 600 heartbeats
  v.pause();
  down = false;
  await h.advance(10 * 60 * 1000);
  const got = h.delivered();
  assert.equal(got.length, 500);
  assert.deepEqual(got.slice(0, 2).map((e) => e.type), ['load', 'play']);
  assert.equal(got.at(-1).type, 'pause');
  const seqs = got.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'still in seq order');
  assert.ok(h.logs.some((l) => String(l[0]).startsWith('queue full')) === false, 'no logs without debug');
});

test('queue cap: when only non-heartbeats are queued, new events are dropped, the oldest kept', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const v = ready(h).v;
  for (let i = 0; i < 300; i++) {
    v.play();
    v.pause();
  }
  await h.advance(1000);
  down = false;
  await h.advance(5000);
  assert.deepEqual(h.delivered().map((e) => e.seq), [...Array(500).keys()]);
});

test('batches are at most 100 events and 16 000 characters', async () => {
  const h = harness();
  const v = ready(h, { 'data-video-id': 'x' }, { url: 'https://site.example/' + 'a'.repeat(1900) }).v;
  for (let i = 0; i < 60; i++) {
    v.play();
    v.pause();
  }
  await h.advance(1000);
  for (const p of h.posts) {
    assert.ok(p.events.length <= 100);
    assert.ok(JSON.stringify(p.events).length <= 16000);
  }
  assert.equal(h.delivered().length, 121);
  assert.ok(h.posts.length >= 16);
});

test('pagehide: a last heartbeat, then everything queued goes by beacon, once', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 3);
  h.wd.hide();
  assert.equal(h.beacons.length, 1);
  const tail = h.beacons[0].events;
  assert.equal(tail.at(-1).type, 'progress');
  near(tail.at(-1).position, 3);
  // a second hide (visibilitychange, then pagehide) adds nothing new
  h.wd.hide();
  assert.equal(h.beacons.length, 1);
  v.pause();
  await h.advance(30000);
  // the fetch had sent load+play; nothing is sent twice
  const bySeq = h.sent().sort((a, b) => a.seq - b.seq);
  assert.deepEqual(bySeq.map((e) => e.type), ['load', 'play', 'progress', 'pause']);
  const ids = h.sent().map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('pagehide while the collector is failing: the beacon is a copy, the retry still follows', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const { v } = ready(h);
  v.play();
  await playFor(h, v, 1.5); // first attempt failed
  h.wd.hide();
  assert.equal(h.beacons.length, 1);
  down = false;
  await h.advance(5000);
  assert.deepEqual(h.delivered().map((e) => e.type), ['load', 'play', 'progress']);
});

test('pagehide: when sendBeacon refuses, the events stay queued for fetch', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  h.beaconOk = false;
  h.wd.hide();
  await h.advance(1000);
  assert.deepEqual(h.delivered().map((e) => e.type), ['load', 'play']);
});

test('players that wrap a <video>: hls.js / Plyr (.media), video.js (.el()), a container; tracked once', async () => {
  const h = harness();
  const a = new FakeVideo({ 'data-video-id': 'a' });
  const b = new FakeVideo({ 'data-video-id': 'b' });
  const c = new FakeVideo({ 'data-video-id': 'c' });
  const ha = h.wd.track({ media: a });
  const hb = h.wd.track({ el: () => ({ tagName: 'DIV', querySelector: () => b }) });
  const hc = h.wd.track({ tagName: 'DIV', querySelector: () => c });
  assert.ok(ha.loadId && hb.loadId && hc.loadId);
  assert.equal(h.wd.track(a), ha, 'a second track() of one element returns the same handle');
  for (const v of [a, b, c]) v.loadMetadata();
  await h.advance(1000);
  assert.deepEqual(h.sent().map((e) => e.video_id), ['a', 'b', 'c']);
  ha.stop();
  a.play();
  await h.advance(1000);
  assert.equal(h.sent().length, 3, 'a stopped player sends nothing');
});

test('a new source in the same element (emptied) is a new load', async () => {
  const h = harness();
  const { v, handle } = ready(h);
  const first = handle.loadId;
  v.play();
  await playFor(h, v, 1);
  v.pause();
  v.attrs['data-video-id'] = 'lesson-2';
  v.readyState = 0;
  v.fire('emptied');
  v.loadMetadata();
  await h.advance(1000);
  const loads = h.sent().filter((e) => e.type === 'load');
  assert.deepEqual(loads.map((e) => e.video_id), ['lesson-1', 'lesson-2']);
  assert.equal(loads[0].load_id, first);
  assert.equal(loads[1].load_id, handle.loadId);
  assert.equal(loads[1].seq, 0);
});

test('a player already playing when tracked sends load and play at once', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-video-id': 'auto' });
  v.readyState = 4;
  v.paused = false;
  v.currentTime = 2;
  h.wd.track(v);
  await h.advance(1000);
  assert.deepEqual(h.sent().map((e) => [e.type, e.position]), [['load', undefined], ['play', 2]]);
});

test('debug logs every event and every request', async () => {
  const quiet = harness();
  ready(quiet).v.play();
  await quiet.advance(1000);
  assert.equal(quiet.logs.length, 0);

  const h = harness();
  const { v } = ready(h, undefined, { debug: true });
  v.play();
  await h.advance(1000);
  const kinds = h.logs.map((l) => l[0]);
  assert.deepEqual(kinds, ['event', 'event', 'send', 'ok']);
  assert.equal(h.logs[2][1], `${ENDPOINT}?s=${h.posts[0].events[0].session_id}`);
  assert.deepEqual(h.logs[2][2].map((e) => e.type), ['load', 'play']);
});

// A stand-in for a Kinescope IFrame Player: player.on(player.Events.X, fn), fn({type, data}).
function fakeKinescope({ seeked = true } = {}) {
  const names = ['Ready', 'Play', 'Playing', 'Pause', 'Ended', 'TimeUpdate', 'DurationChange', 'Seeking', 'Error', 'Destroy'];
  if (seeked) names.push('Seeked');
  const Events = Object.fromEntries(names.map((n) => [n, n.toLowerCase()]));
  const handlers = {};
  return {
    Events,
    on: (ev, fn) => (handlers[ev] = handlers[ev] || []).push(fn),
    getDuration: () => Promise.resolve(60),
    emit: (name, data) => (handlers[Events[name]] || []).forEach((fn) => fn({ type: Events[name], data })),
  };
}

test('Kinescope IFrame Player: its events become the same wire events, externalId from its settings', async () => {
  const h = harness();
  const p = fakeKinescope();
  const handle = h.wd.track(p, { videoId: 'kin-1', settings: { externalId: 'viewer-9' } });
  assert.ok(handle.loadId);
  assert.equal(h.wd.track(p, { videoId: 'kin-1' }), handle, 'tracked once');
  await settle();
  p.emit('Play', undefined);
  for (let t = 0.25; t <= 6; t += 0.25) {
    await h.advance(250);
    p.emit('TimeUpdate', { currentTime: t });
  }
  p.emit('Seeking', undefined);
  p.emit('TimeUpdate', { currentTime: 2 });
  p.emit('Seeked', undefined);
  p.emit('TimeUpdate', { currentTime: 2.25 });
  p.emit('Pause', undefined);
  p.emit('Play', undefined);
  p.emit('Ended', undefined);
  await h.advance(1000);
  const events = h.sent();
  assert.deepEqual(
    events.map((e) => [e.type, e.position, e.from]),
    [
      ['load', undefined, undefined],
      ['play', 0, undefined],
      ['progress', 5, undefined],
      ['seek', 2.25, 6],
      ['pause', 2.25, undefined],
      ['play', 2.25, undefined],
      ['ended', 60, undefined],
    ],
  );
  assert.ok(events.every((e) => e.video_id === 'kin-1' && e.external_id === 'viewer-9'));
  assert.equal(events[2].duration, 60);
});

test('Kinescope IFrame Player: Seeked with its currentTime, and an older player with Seeking only', async () => {
  const h = harness();
  const p = fakeKinescope();
  h.wd.track(p, { videoId: 'kin-1' });
  p.emit('Play');
  p.emit('TimeUpdate', { currentTime: 8 });
  p.emit('Seeking');
  p.emit('Seeked', { currentTime: 30 });
  const old = fakeKinescope({ seeked: false });
  h.wd.track(old, { videoId: 'kin-2' });
  old.emit('Play');
  old.emit('TimeUpdate', { currentTime: 8 });
  old.emit('Seeking');
  old.emit('TimeUpdate', { currentTime: 40 });
  await h.advance(1000);
  const seeks = h.sent().filter((e) => e.type === 'seek');
  assert.deepEqual(seeks.map((e) => [e.video_id, e.from, e.position]), [['kin-1', 8, 30], ['kin-2', 8, 40]]);
  assert.equal(h.wd.track(fakeKinescope(), {}), undefined, 'a Kinescope player needs a videoId');
});

test('Kinescope IFrame Player: Destroy while playing sends a last heartbeat', async () => {
  const h = harness();
  const p = fakeKinescope();
  h.wd.track(p, { videoId: 'kin-1' });
  p.emit('Play');
  p.emit('TimeUpdate', { currentTime: 3 });
  p.emit('Destroy');
  p.emit('Play');
  await h.advance(1000);
  assert.deepEqual(h.sent().map((e) => [e.type, e.position]), [['load', undefined], ['play', 0], ['progress', 3]]);
});

test('scale-out: each request carries one session, named in the URL (?s=) for the balancer', async () => {
  let down = true;
  const h = harness({ status: () => (down ? 503 : 202) });
  const v = ready(h, { 'data-video-id': 'v', 'data-endpoint': 'https://c.example/collect?x=1' }).v;
  v.play();
  await h.advance(1000);
  v.pause();
  // The collector is down for 31 minutes: the queued events keep their session, and
  // the next play opens a new one while they still wait in the same queue.
  await h.advance(31 * 60 * 1000);
  v.play();
  await h.advance(1000);
  down = false;
  await h.advance(5 * 60 * 1000);
  const ok = h.posts.filter((p) => p.status === 202);
  const sessions = new Set(ok.flatMap((p) => p.events.map((e) => e.session_id)));
  assert.equal(sessions.size, 2);
  for (const p of h.posts) {
    const url = new URL(p.url);
    assert.equal(url.searchParams.get('x'), '1');
    assert.ok(p.events.every((e) => e.session_id === url.searchParams.get('s')), p.url);
  }
});

// ---- quality of experience (docs/metrics.md §7): startup, stall, error ----

const qoe = (h) => h.sent().filter((e) => ['startup', 'stall', 'error'].includes(e.type));

test('startup: ms from the first play to playing + a timeupdate that advances, once per load', async () => {
  const h = harness();
  const { v } = ready(h);
  await h.advance(3000); // idle before the play: not part of it
  v.play();
  await h.advance(700);
  v.fire('playing'); // playing alone is not a frame
  v.fire('timeupdate'); // nor a timeupdate that does not move
  await h.advance(50);
  v.currentTime = 0.05;
  v.fire('timeupdate');
  await playFor(h, v, 2);
  v.pause();
  v.play();
  v.start();
  await h.advance(1000);
  const q = qoe(h);
  assert.deepEqual(q.map((e) => [e.type, e.ms, e.position]), [['startup', 750, undefined]]);
  assert.equal(q[0].load_id, h.sent()[0].load_id);
});

test('startup: requestVideoFrameCallback, where present, marks the first frame', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-video-id': 'lesson-1' });
  const asked = [];
  v.requestVideoFrameCallback = (f) => asked.push(f);
  h.wd.track(v);
  v.loadMetadata();
  v.play();
  v.fire('waiting');
  await h.advance(420);
  asked[0](performance.now(), {});
  v.start();
  v.pause();
  v.play(); // a second play asks nothing more
  await h.advance(1000);
  assert.equal(asked.length, 1);
  assert.deepEqual(qoe(h).map((e) => [e.type, e.ms]), [['startup', 420]]);
});

test('stall: waiting → playing after the first frame, sent on resume with ms and position', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  v.fire('waiting'); // before the first frame: part of startup, not a stall
  await h.advance(300);
  v.start();
  await playFor(h, v, 2);
  v.fire('waiting');
  await playFor(h, v, 1.5, { stalled: true });
  v.fire('playing');
  await playFor(h, v, 1);
  v.pause();
  await h.advance(1000);
  const q = qoe(h);
  assert.deepEqual(q.map((e) => [e.type, e.ms]), [['startup', 300], ['stall', 1500]]);
  near(q[1].position, 2.25, 0.01);
});

test('stall: a seek\'s waiting does not count, before or after seeked', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  v.start();
  await playFor(h, v, 1);
  v.currentTime = 30;
  v.fire('seeking');
  v.fire('waiting');
  await h.advance(800);
  v.fire('seeked');
  v.fire('waiting'); // Chrome may say it again once seeked
  await h.advance(500);
  v.fire('playing');
  await playFor(h, v, 2);
  v.pause();
  await h.advance(1000);
  assert.deepEqual(qoe(h).map((e) => e.type), ['startup']);
  assert.ok(h.types().includes('seek'));
});

test('stall: a seek or a pause in the middle of a stall ends it with the time so far', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  v.start();
  await playFor(h, v, 1);
  v.fire('waiting');
  await h.advance(600);
  v.seek(20);
  v.fire('playing');
  await playFor(h, v, 1);
  v.fire('waiting');
  await h.advance(900);
  v.pause();
  await h.advance(1000);
  assert.deepEqual(qoe(h).map((e) => [e.type, e.ms]), [['startup', 0], ['stall', 600], ['stall', 900]]);
});

test('stall: still open when the page hides, it goes by beacon with the time so far, once', async () => {
  const h = harness();
  const { v } = ready(h);
  v.play();
  v.start();
  await playFor(h, v, 1);
  v.fire('waiting');
  await h.advance(2500);
  h.wd.hide();
  h.wd.hide();
  const stalls = h.sent().filter((e) => e.type === 'stall');
  assert.deepEqual(stalls.map((e) => e.ms), [2500]);
  assert.ok(h.beacons[0].events.some((e) => e.type === 'stall'));
});

test('error: a media error is fatal, named by its MediaError code, sent once per code and load', async () => {
  const h = harness();
  const v = new FakeVideo({ 'data-video-id': 'lesson-1' });
  h.wd.track(v);
  v.play();
  v.error = { code: 4, message: 'MEDIA_ELEMENT_ERROR: Format error ' + 'x'.repeat(400) };
  v.fire('error');
  v.fire('error');
  await h.advance(1000);
  const q = qoe(h);
  assert.equal(q.length, 1);
  assert.equal(q[0].code, 'MEDIA_ERR_SRC_NOT_SUPPORTED');
  assert.equal(q[0].fatal, true);
  assert.equal(q[0].message.length, 256);
  assert.deepEqual(h.types(), ['load', 'play', 'error']);
});

test('error: hls.js ERROR (fatal or not) and video.js error reach the same load', async () => {
  const h = harness();
  const a = new FakeVideo({ 'data-video-id': 'a' });
  const hlsHandlers = [];
  const hls = { media: a, loadSource() {}, on: (name, fn) => hlsHandlers.push([name, fn]) };
  h.wd.track(hls);
  const b = new FakeVideo({ 'data-video-id': 'b' });
  let vjsError;
  const vjs = { el: () => b, error: () => ({ code: 2, message: 'net down' }), on: (n, fn) => n === 'error' && (vjsError = fn) };
  h.wd.track(vjs);
  assert.equal(hlsHandlers[0][0], 'hlsError');
  hlsHandlers[0][1]('hlsError', { type: 'mediaError', details: 'bufferStalledError', fatal: false });
  hlsHandlers[0][1]('hlsError', { type: 'networkError', details: 'manifestLoadError', fatal: true });
  vjsError();
  await h.advance(1000);
  assert.deepEqual(
    qoe(h).map((e) => [e.video_id, e.code, e.message, e.fatal]),
    [
      ['a', 'bufferStalledError', 'mediaError', false],
      ['a', 'manifestLoadError', 'networkError', true],
      ['b', 'MEDIA_ERR_NETWORK', 'net down', true],
    ],
  );
});

test('Kinescope IFrame Player: Playing, Waiting and Error give startup, stall and a fatal error', async () => {
  const h = harness();
  const p = fakeKinescope();
  p.Events.Waiting = 'waiting';
  const handlers = {};
  p.on = (ev, fn) => (handlers[ev] = fn);
  p.emit = (name, data) => handlers[p.Events[name]] && handlers[p.Events[name]]({ data });
  h.wd.track(p, { videoId: 'kin-1' });
  p.emit('Play');
  await h.advance(900);
  p.emit('Playing');
  p.emit('TimeUpdate', { currentTime: 0.25 });
  await h.advance(250);
  p.emit('TimeUpdate', { currentTime: 0.5 });
  p.emit('Waiting');
  await h.advance(1200);
  p.emit('Playing');
  p.emit('Error', { error: { code: 'manifest', message: 'no manifest' } });
  await h.advance(1000);
  assert.deepEqual(
    qoe(h).map((e) => [e.type, e.ms, e.code, e.fatal]),
    [['startup', 900, undefined, undefined], ['stall', 1200, undefined, undefined], ['error', undefined, 'manifest', true]],
  );
});

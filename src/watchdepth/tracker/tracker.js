/*! watchdepth tracker | Apache-2.0 | https://github.com/watchdepth/watchdepth */
// The player tracker: turns what a player does into watchdepth's wire events
// (docs/metrics.md §2) and delivers them to /collect.
//
// Quality of experience (§7): `startup` (ms from the first play to the first
// frame), `stall` (a rebuffering no seek caused, sent on resume or when the page
// hides) and `error` (code, message, fatal), from the element's events, hls.js's
// ERROR, video.js's error and the Kinescope player's Playing/Waiting/Error.
//
// Input: HTML5 <video>/<audio> elements (found by data-video-id, data-stream-id,
// data-event-id, data-external-id, or passed to watchdepth.track), players that
// wrap one (hls.js, video.js, Plyr), and Kinescope IFrame Player objects.
// Output: batches of events POSTed as text/plain JSON arrays, in seq order per
// load, retried with backoff, and sent by navigator.sendBeacon when the page hides.
// It does not count anything: runs, views and watch time are the server's job.
//
// Plain ES2017, no dependencies, no build step. Everything that touches the
// browser goes through the `env` object handed to create(), so Node's test
// runner can load this file with require() and drive it with a fake clock,
// storage and transport (tests/tracker/test_tracker_unit.js).
(function (root) {
  'use strict';

  var VERSION = '0.1.0';
  var SESSION_KEY = 'watchdepth_session';
  var SESSION_IDLE_MS = 30 * 60 * 1000; // a session ends after 30 min without events
  var BEAT_PLAYED_S = 5; // a progress event after 5 s of playback...
  var BEAT_WALL_MS = 10000; // ...and at least every 10 s of wall time while playing
  var HIDE_MIN_S = 0.5; // a last heartbeat on pagehide unless the latest event is this close
  var FLUSH_DELAY_MS = 1000; // events of one second go out together
  var MAX_QUEUE = 500; // events kept per endpoint while it is unreachable
  var MAX_BATCH = 100; // events per request (the collector takes up to 500)
  // Keepalive and beacon bodies in flight share 64 KB per page; 16 000 characters
  // stay under 48 KB even if every one of them is 3 bytes of UTF-8.
  var MAX_BATCH_CHARS = 16000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 60000;
  var MARKED = 'video,audio';
  var ID_ATTRS = ['data-video-id', 'data-stream-id', 'data-event-id', 'data-external-id'];

  // create(env) builds one tracker. env: now(), random(), setTimeout(fn, ms),
  // clearTimeout(id), storage (getItem/setItem, may throw or be absent), href(),
  // post(url, body) -> Promise<[status, text]> (status 0 on network error),
  // beacon(url, body) -> bool, log(...), and the defaults endpoint, debug, externalId.
  function create(env) {
    var senders = {}; // endpoint -> sender
    var cores = []; // live loads, for the final heartbeat on pagehide
    var memorySession = null; // when localStorage is unavailable
    var api = {
      version: VERSION,
      debug: !!env.debug,
      endpoint: env.endpoint,
      externalId: env.externalId,
      log: env.log,
      track: track,
      scan: scan,
      flush: function () { each(function (s) { if (!s.tries) sendNow(s); }); },
      hide: hide,
    };

    function debug() {
      if (api.debug && api.log) api.log.apply(null, arguments);
    }

    function each(fn) {
      Object.keys(senders).forEach(function (k) { fn(senders[k]); });
    }

    function uid() {
      var s = env.now().toString(36);
      while (s.length < 20) s += ((env.random() * 36) | 0).toString(36);
      return s;
    }

    // ---- session: one id per device, renewed after 30 min without events ----

    function sessionId() {
      var t = env.now();
      var s;
      try {
        s = JSON.parse(env.storage.getItem(SESSION_KEY));
      } catch (e) {
        s = memorySession;
      }
      if (!s || !s.id || !(t - s.t < SESSION_IDLE_MS)) s = { id: uid() };
      s.t = t;
      memorySession = s;
      try {
        env.storage.setItem(SESSION_KEY, JSON.stringify(s));
      } catch (e) { /* private mode, sandboxed iframe: the session lives as long as the page */ }
      return s.id;
    }

    // ---- delivery: one queue per endpoint, one request in flight, in order ----

    function sender(url) {
      return senders[url] || (senders[url] = { url: url, q: [], busy: null, tries: 0, timer: 0 });
    }

    function enqueue(s, e) {
      if (s.q.length >= MAX_QUEUE) {
        // Full (the endpoint has been down a while): give up the oldest heartbeat
        // not in flight, which only refines a run; else the new event itself.
        var i = s.q.findIndex(function (x) {
          return x.type === 'progress' && (!s.busy || s.busy.indexOf(x) < 0);
        });
        debug('queue full, dropped', i < 0 ? e : s.q[i]);
        if (i < 0) return;
        s.q.splice(i, 1);
      }
      s.q.push(e);
      if (!s.timer && !s.busy) s.timer = env.setTimeout(sendNow.bind(null, s), FLUSH_DELAY_MS);
    }

    // The head of a queue as one request: at most MAX_BATCH events and
    // MAX_BATCH_CHARS characters (always at least one event), all of one session,
    // whose id goes in the URL (?s=) so a balancer can route sessions to collectors.
    function take(q, url) {
      var parts = [];
      var size = 2;
      var sid = q[0].session_id;
      while (parts.length < q.length && parts.length < MAX_BATCH && q[parts.length].session_id === sid) {
        var json = JSON.stringify(q[parts.length]);
        if (parts.length && size + json.length > MAX_BATCH_CHARS) break;
        parts.push(json);
        size += json.length + 1;
      }
      return {
        events: q.slice(0, parts.length),
        body: '[' + parts.join(',') + ']',
        url: url + (url.indexOf('?') < 0 ? '?' : '&') + 's=' + encodeURIComponent(sid),
      };
    }

    function sendNow(s) {
      env.clearTimeout(s.timer);
      s.timer = 0;
      if (s.busy || !s.q.length) return;
      var b = take(s.q, s.url);
      s.busy = b.events;
      debug('send', b.url, b.events);
      env.post(b.url, b.body).then(function (r) {
        done(s, b.events, r[0], r[1]);
      });
    }

    function done(s, batch, status, text) {
      s.busy = null;
      var failed = status === 0 || status === 408 || status === 429 || status >= 500;
      if (failed) {
        // Retry the same events (same ids) first; later ones wait behind them.
        var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, s.tries++));
        delay = Math.round(delay * (1 + env.random() / 4));
        debug('failed', status, 'retry in', delay, 'ms');
        s.timer = env.setTimeout(sendNow.bind(null, s), delay);
        return;
      }
      // Stored (2xx), or refused for good (4xx). A 400 names the bad events by
      // index: those are dropped and the rest go again.
      var gone = batch;
      if (status >= 300) {
        var bad = rejected(text);
        if (status === 400 && bad.length) gone = batch.filter(function (e, i) { return bad.indexOf(i) >= 0; });
        debug('refused', status, gone, text);
      } else {
        debug('ok', status, text);
        // {"bots": n}: stored, but its User-Agent is a bot's (a headless browser's too), so in no metric.
        if (/"bots":[1-9]/.test(text)) debug('counted as a bot by its User-Agent: in no metric (README: testing)');
      }
      s.tries = 0;
      s.q = s.q.filter(function (e) { return gone.indexOf(e) < 0; });
      sendNow(s);
    }

    function rejected(text) {
      try {
        return JSON.parse(text).error.invalid_params.map(function (p) { return p.index; });
      } catch (e) {
        return [];
      }
    }

    // The page is going away (or to the background): a last heartbeat for each
    // playing player, then everything queued by sendBeacon. Events in flight go
    // again (their ids make that harmless). When the endpoint was failing, the
    // beacon is only a copy: the events stay queued for the next retry.
    function hide() {
      cores.forEach(function (c) { c.hide(); });
      each(function (s) {
        var q = s.q;
        while (q.length) {
          var b = take(q, s.url);
          if (!env.beacon(b.url, b.body)) break;
          debug('beacon', s.url, b.events);
          q = q.slice(b.events.length);
        }
        if (!s.tries) s.q = q;
      });
    }

    // ---- one load: player state -> events ----

    // o: resolved options (ids, endpoint, url); pos(), dur(): the player's
    // position and duration in seconds. Returns the handle the adapters drive.
    function core(o, pos, dur) {
      var s = sender(o.endpoint);
      var loadId = uid();
      var seq = 0;
      var loaded = false;
      var started = false; // a play was sent: seeks before it are not
      var playing = false;
      var seekFrom = null; // position when a seek began, until it ends
      var lastPos = 0; // the latest position the player reported
      var beatPos = 0; // position of the latest positioned event
      var timer = 0;
      var stopped = false;
      // quality (§7): first play's time, first frame shown, 'playing' seen since the
      // latest waiting, a seek's waiting until playback moves, an open stall, errors sent
      var playAt = 0;
      var shown = false;
      var moving = false;
      var seekWait = false;
      var stallAt = 0;
      var stallPos = 0;
      var errs = {};
      function advanced() {
        if (moving && playAt && !shown) c.frame();
        seekWait = false;
        endStall();
      }
      function endStall() {
        if (!stallAt) return;
        var ms = env.now() - stallAt;
        stallAt = 0;
        emit('stall', stallPos, undefined, { ms: ms });
      }
      var c = {
        id: loadId,
        ready: function () {
          if (!loaded) {
            loaded = true;
            emit('load');
          }
        },
        play: function (p) {
          if (playing) return;
          playing = started = true;
          if (!playAt) playAt = env.now();
          emit('play', p);
        },
        time: function (p) {
          if (seekFrom !== null) return;
          if (p > lastPos) advanced();
          lastPos = p;
          if (playing && p - beatPos >= BEAT_PLAYED_S) emit('progress', p);
        },
        // the first rendered frame (requestVideoFrameCallback, or playing + time moving)
        frame: function () {
          if (!playAt || shown) return;
          shown = true;
          emit('startup', undefined, undefined, { ms: env.now() - playAt });
        },
        playing: function () {
          moving = true;
          if (shown) endStall();
        },
        waiting: function () {
          moving = false;
          if (shown && playing && !seekWait && !stallAt) {
            stallAt = env.now();
            stallPos = lastPos;
          }
        },
        pause: function (p) {
          if (!playing) return;
          endStall();
          playing = false;
          emit('pause', p);
        },
        seeking: function () {
          endStall();
          seekWait = true;
          if (seekFrom === null) seekFrom = lastPos;
        },
        seeked: function (p) {
          var from = seekFrom === null ? lastPos : seekFrom;
          seekFrom = null;
          lastPos = p;
          if (started) emit('seek', p, from);
        },
        ended: function (p) {
          endStall();
          playing = false;
          emit('ended', p);
        },
        // one event per code and load (a player and its element may both report it)
        error: function (code, message, fatal) {
          code = cut(code || 'error', 64);
          if (errs[code]) return;
          errs[code] = 1;
          var x = { code: code, fatal: !!fatal };
          if (message) x.message = cut(message, 256);
          emit('error', pos(), undefined, x);
        },
        hide: function () {
          // (visibilitychange and pagehide both call this, a few ms apart: one heartbeat)
          // A stall still open goes with the time so far (the page may never come back).
          endStall();
          var p = pos();
          if (playing && Math.abs(p - beatPos) >= HIDE_MIN_S) emit('progress', p);
        },
        stop: function () {
          if (stopped) return;
          c.hide();
          playing = false;
          stopped = true;
          env.clearTimeout(timer);
          cores.splice(cores.indexOf(c), 1);
        },
        loaded: function () { return loaded; },
      };
      cores.push(c);

      function emit(type, p, from, x) {
        if (stopped) return;
        if (!loaded && type !== 'load') c.ready();
        var e = { type: type };
        if (o.video_id) e.video_id = o.video_id;
        else e.stream_id = o.stream_id;
        if (o.event_id) e.event_id = o.event_id;
        e.session_id = sessionId();
        e.load_id = loadId;
        e.seq = seq;
        if (p !== undefined) {
          p = Math.max(0, +p || 0);
          e.position = round(p);
          lastPos = beatPos = p;
          // An event between seeking and seeked (a play on a replay from the end)
          // is where the jump started from, as far as the server can tell.
          if (seekFrom !== null && from === undefined) seekFrom = p;
        }
        if (from !== undefined) e.from = round(Math.max(0, from));
        for (var k in x) e[k] = x[k];
        var d = dur();
        if (d > 0 && d < Infinity) e.duration = round(d);
        e.url = cut(o.url || env.href(), 2048);
        if (o.external_id) e.external_id = o.external_id;
        e.id = loadId + ':' + seq++;
        e.ts = env.now();
        debug('event', e);
        enqueue(s, e);
        // At least one event every BEAT_WALL_MS while playing, even when the
        // position does not move (buffering, slow motion).
        env.clearTimeout(timer);
        if (playing) timer = env.setTimeout(function () { if (playing) emit('progress', pos()); }, BEAT_WALL_MS);
      }
      return c;
    }

    // Options for one player: explicit ones first, then the element's data-*
    // attributes, then the script tag's defaults. Null when no content id.
    function options(el, o) {
      var a = function (name) { return (el && el.getAttribute && el.getAttribute('data-' + name)) || undefined; };
      var r = {
        video_id: cut(o.videoId || a('video-id'), 64),
        stream_id: cut(o.streamId || a('stream-id'), 64),
        event_id: cut(o.eventId || a('event-id'), 64),
        external_id: cut(o.externalId || (o.settings && o.settings.externalId) || a('external-id') || api.externalId, 256),
        endpoint: o.endpoint || a('endpoint') || api.endpoint,
        url: o.url,
      };
      return r.video_id || r.stream_id ? r : null;
    }

    // ---- adapters ----

    // watchdepth.track(elementOrPlayer, {videoId, streamId, eventId, externalId, endpoint, url, debug})
    function track(x, o) {
      o = o || {};
      if (o.debug) api.debug = true;
      if (x && x.Events && typeof x.on === 'function') return x.watchdepth || (x.watchdepth = kinescope(x, o));
      // hls.js and Plyr keep the element in .media, video.js answers .el()
      var v = x && (x.media || (typeof x.el === 'function' && x.el()) || x);
      if (v && !/^(VIDEO|AUDIO)$/.test(v.tagName) && v.querySelector) v = v.querySelector(MARKED);
      if (!v || !v.addEventListener) return debug('nothing to track in', x);
      if (v.watchdepth) return v.watchdepth;
      var opts = options(v, o);
      if (!opts) return debug('no data-video-id or data-stream-id on', v);
      var h = (v.watchdepth = video(v, o, opts));
      // hls.js: Hls.Events.ERROR ('hlsError', data {type, details, fatal}); video.js: 'error', player.error()
      if (x.loadSource && x.on) x.on('hlsError', function (n, d) { h.error(d.details, d.type, d.fatal); });
      else if (x !== v && typeof x.error === 'function' && x.on) x.on('error', function () { var er = x.error() || {}; h.error(mediaCode(er.code), er.message, 1); });
      return h;
    }

    function mediaCode(n) {
      return 'MEDIA_ERR_' + (['ABORTED', 'NETWORK', 'DECODE', 'SRC_NOT_SUPPORTED'][n - 1] || n);
    }

    function video(v, o, opts) {
      var c;
      var at = function () { return v.currentTime; };
      var handle = {
        stop: function () { unbind(); c.stop(); },
        error: function (code, message, fatal) { c.error(code, message, fatal); },
      };
      function start() {
        c = core(opts, at, function () { return v.duration; });
        handle.loadId = c.id;
        if (v.readyState > 0 || v.preload === 'none') c.ready();
        if (!v.paused) c.play(v.currentTime);
      }
      var on = {
        loadedmetadata: function () { c.ready(); },
        play: function () {
          c.play(v.currentTime);
          // the first frame presented after the first play, where the browser says so
          if (v.requestVideoFrameCallback && !c.asked) c.asked = v.requestVideoFrameCallback(c.frame);
        },
        playing: function () { c.playing(); },
        waiting: function () { c.waiting(); },
        pause: function () { if (!v.ended) c.pause(v.currentTime); },
        timeupdate: function () { c.time(v.currentTime); },
        seeking: function () { c.seeking(); },
        seeked: function () { c.seeked(v.currentTime); },
        ended: function () { c.ended(v.currentTime); },
        // a media error on the element stops playback: fatal
        error: function () { var er = v.error || {}; c.error(mediaCode(er.code), er.message, 1); },
        // a new source in the same element (a playlist, Plyr's player.source =) is a new load
        emptied: function () {
          if (!c.loaded()) return;
          c.stop();
          opts = options(v, o) || opts;
          start();
        },
      };
      function unbind() {
        Object.keys(on).forEach(function (k) { v.removeEventListener(k, on[k]); });
        delete v.watchdepth;
      }
      Object.keys(on).forEach(function (k) { v.addEventListener(k, on[k]); });
      start();
      return handle;
    }

    // Kinescope IFrame Player API: Kinescope.IframePlayer.create(...).then(p => watchdepth.track(p, {...}))
    function kinescope(p, o) {
      var opts = options(null, o);
      if (!opts) return debug('track(kinescopePlayer, {videoId}) needs a videoId');
      var t = 0;
      var d;
      var seekedByTime = false;
      var c = core(opts, function () { return t; }, function () { return d; });
      var E = p.Events;
      var on = function (name, fn) {
        if (E[name] != null) p.on(E[name], function (ev) { fn((ev && ev.data) || {}); });
      };
      on('Ready', function (x) { d = x.duration || d; c.ready(); });
      on('DurationChange', function (x) { d = x.duration || d; });
      on('TimeUpdate', function (x) {
        t = x.currentTime;
        if (seekedByTime) {
          seekedByTime = false;
          c.seeked(t);
        } else c.time(t);
      });
      on('Play', function () { c.play(t); if (E.Playing == null) c.playing(); });
      on('Playing', function () { c.playing(); });
      on('Waiting', function () { c.waiting(); });
      on('Pause', function () { c.pause(t); });
      on('Ended', function () { c.ended(d || t); });
      on('Seeking', function () { c.seeking(); if (E.Seeked == null) seekedByTime = true; });
      on('Seeked', function (x) {
        if (x.currentTime != null) c.seeked((t = x.currentTime));
        else seekedByTime = true;
      });
      on('Error', function (x) {
        var er = x.error || x;
        c.error(er.code || er.type || 'kinescope', er.message, 1);
      });
      on('Destroy', function () { c.stop(); });
      if (p.getDuration) p.getDuration().then(function (x) { d = x || d; }, function () {});
      c.ready(); // create() resolves with a ready player
      return { loadId: c.id, stop: c.stop };
    }

    // Attach to every marked, untracked element of the document.
    function scan(doc) {
      var sel = ID_ATTRS.map(function (a) { return MARKED.split(',').map(function (t) { return t + '[' + a + ']'; }); });
      var list = doc.querySelectorAll(sel.join(','));
      for (var i = 0; i < list.length; i++) if (!list[i].watchdepth) track(list[i]);
    }

    return api;
  }

  function round(x) {
    return Math.round(x * 1000) / 1000;
  }

  function cut(x, n) {
    return x == null ? x : String(x).slice(0, n);
  }

  // ---- the browser ----

  function browserEnv(w, script) {
    var attr = function (name) { return script && script.getAttribute(name); };
    var storage;
    try {
      storage = w.localStorage;
    } catch (e) { /* blocked storage throws on access */ }
    // The collector sits next to the script: https://stats.example/tracker.js
    // posts to https://stats.example/collect (and /prefix/tracker.js to /prefix/collect).
    var here = script && script.src;
    return {
      now: Date.now,
      random: Math.random,
      setTimeout: function (f, ms) { return w.setTimeout(f, ms); },
      clearTimeout: function (id) { w.clearTimeout(id); },
      storage: storage,
      href: function () { return w.location.href; },
      post: function (url, body) {
        return w
          .fetch(url, { method: 'POST', body: body, keepalive: true, credentials: 'omit' })
          .then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); })
          .catch(function () { return [0, '']; });
      },
      beacon: function (url, body) {
        try {
          return w.navigator.sendBeacon(url, body);
        } catch (e) {
          return false;
        }
      },
      log: function () {
        w.console.log.apply(w.console, ['[watchdepth]'].concat([].slice.call(arguments)));
      },
      endpoint: attr('data-endpoint') || (here ? new w.URL('collect', here).href : w.location.origin + '/collect'),
      debug: script ? script.hasAttribute('data-debug') : false,
      externalId: attr('data-external-id') || undefined,
    };
  }

  function start(w) {
    var d = w.document;
    var api = (w.watchdepth = create(browserEnv(w, d.currentScript)));
    var pending = 0;
    var rescan = function () {
      if (!pending) pending = w.setTimeout(function () { pending = 0; api.scan(d); }, 300);
    };
    if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', function () { api.scan(d); });
    else api.scan(d);
    if (w.MutationObserver) new w.MutationObserver(rescan).observe(d.documentElement, { childList: true, subtree: true });
    d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') api.hide(); });
    w.addEventListener('pagehide', api.hide);
  }

  if (typeof module === 'object' && module.exports) {
    module.exports = { create: create, browserEnv: browserEnv };
  } else if (root && root.document && !(root.watchdepth && root.watchdepth.track)) {
    start(root);
  }
})(typeof window !== 'undefined' ? window : this);

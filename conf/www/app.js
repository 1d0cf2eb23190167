/*
 * app.js — Love Rank Pulse demo page (plain JavaScript, no build step).
 *
 * What it does:
 *   - Leaderboard: GET /api/leaderboards (scope, country, period, limit, offset),
 *     rendered into a semantic table with period tabs, a country select and
 *     Previous/Next paging.
 *   - Live updates: a WebSocket on /rt/leaderboard (or /rt/leaderboard/CC).
 *     Every leaderboard_update refetches the current page (debounced) and rows
 *     whose rank changed since the previous render flash green (up) or red
 *     (down) with the number of places and the Elo delta from the message.
 *     Messages carry a per-channel `seq`; a gap (seq != last + 1) refetches at
 *     once. A snapshot older than the last message (nginx microcaches reads
 *     for up to 1 s) is fetched again shortly instead of being rendered.
 *     The socket reconnects with exponential back-off (0.5 s .. 10 s, jitter)
 *     and the header shows live / reconnecting / offline.
 *   - Account: register / login / logout. The session is kept in memory and
 *     sessionStorage; an expired access token is renewed once with the
 *     refresh token.
 *   - Report a match: pick two players (autocomplete from GET /api/players),
 *     enter the score, POST /api/matches then /api/matches/{id}/result, and
 *     show the rating changes (or the problem+json error).
 *
 * API data is only ever written with textContent / DOM properties, never
 * innerHTML.
 */
'use strict';

(function main() {
  const PAGE_SIZE = 25;
  const REFETCH_DEBOUNCE_MS = 150;
  const STALE_RETRY_MS = 400;
  const STALE_RETRY_MAX = 6;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const OFFLINE_AFTER_FAILURES = 4;
  const FLASH_MS = 3000;
  const SESSION_KEY = 'rankpulse.session';
  const DEMO_PASSWORD = 'rankpulse-demo';
  const COMMON_COUNTRIES = ['US', 'GB', 'DE', 'FR', 'SE', 'NO', 'ES', 'IT', 'NL', 'PL',
    'BR', 'IN', 'JP', 'KR', 'CA', 'AU'];
  const PERIOD_LABELS = {
    all: 'All time', season: 'Current season', day: 'Today', week: 'This week', month: 'This month',
  };
  const WINDOWED = new Set(['day', 'week', 'month']);

  /* ------------------------------------------------------------ state */

  const board = {
    period: 'all',
    country: '',          // '' = global
    offset: 0,
    data: null,           // last rendered snapshot
    key: '',              // identity of the rendered board (scope/country/period/offset)
    ranks: new Map(),     // playerId -> rank in the previous render
    pending: new Map(),   // playerId -> entry from realtime messages not yet shown
    lastSeq: null,        // seq of the last message / snapshot applied
    wantSeq: null,        // a snapshot must be at least this fresh
    generation: 0,        // discards answers to superseded requests
    refetchTimer: 0,
    inFlight: false,
    again: false,         // a message arrived while a fetch was in flight
    staleRetries: 0,
    controller: null,
  };

  const rt = {
    ws: null,
    channel: '',
    failures: 0,
    retryTimer: 0,
    countdownTimer: 0,
    everOpened: false,
  };

  let session = null;                 // {token, refreshToken, user}
  const knownPlayers = new Map();     // lower-case username -> player
  const regionNames = makeRegionNames();

  /* ------------------------------------------------------------ DOM helpers */

  function $(id) {
    return document.getElementById(id);
  }

  /** Creates an element; `props` are DOM properties (className, textContent, …) or data-/aria- attributes. */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k.startsWith('data-') || k.startsWith('aria-') || k === 'title' || k === 'scope') node.setAttribute(k, String(v));
      else node[k] = v;
    }
    for (const c of children || []) {
      if (c !== null && c !== undefined) node.append(c);
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function makeRegionNames() {
    try {
      return new Intl.DisplayNames(['en'], { type: 'region' });
    } catch (_) {
      return null;
    }
  }

  function countryName(code) {
    if (!code) return '';
    try {
      return (regionNames && regionNames.of(code)) || code;
    } catch (_) {
      return code;
    }
  }

  function signed(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '';
    if (n > 0) return '+' + n;
    if (n < 0) return '−' + Math.abs(n);
    return '±0';
  }

  function formatTime(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || Number.isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /* ------------------------------------------------------------ HTTP */

  class ApiError extends Error {
    constructor(status, problem, retryAfter) {
      const p = problem && typeof problem === 'object' ? problem : {};
      super(p.detail || p.title || (status ? 'HTTP ' + status : 'Network error'));
      this.status = status;
      this.problem = p;
      this.retryAfter = retryAfter;
    }

    get fieldErrors() {
      return Array.isArray(this.problem.errors) ? this.problem.errors : [];
    }

    /** Replaces the human-readable detail (keeps status and field errors). */
    setDetail(text) {
      this.problem.detail = text;
      this.message = text;
    }
  }

  /** JSON request; resolves with the parsed body, rejects with ApiError. */
  async function request(method, path, options) {
    const opts = options || {};
    const headers = { Accept: 'application/json, application/problem+json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        cache: 'no-cache',
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, { title: 'Network error', detail: 'Could not reach the server.' });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) throw new ApiError(res.status, data, res.headers.get('Retry-After'));
    return data;
  }

  /** Authenticated request: renews the access token once on 401. */
  async function authed(method, path, body) {
    if (!session) throw new ApiError(401, { title: 'Unauthorized', detail: 'Log in first.' });
    try {
      return await request(method, path, { body, token: session.token });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || !session.refreshToken) throw err;
      if (!(await refreshSession())) {
        setSession(null);
        throw new ApiError(401, { title: 'Unauthorized', detail: 'Your session expired — log in again.' });
      }
      return request(method, path, { body, token: session.token });
    }
  }

  /** Renders a problem (detail + field errors) into an error box and marks the inputs. */
  function showProblem(box, form, err) {
    clearProblem(box, form);
    let detail = err instanceof ApiError ? err.message : 'Something went wrong.';
    if (err instanceof ApiError && err.status === 429 && err.retryAfter) {
      detail += ' Try again in ' + err.retryAfter + ' s.';
    }
    box.append(el('strong', { textContent: problemTitle(err) }), ' ', detail);
    const fields = err instanceof ApiError ? err.fieldErrors : [];
    if (fields.length) {
      box.append(el('ul', {}, fields.map((f) => el('li', {
        textContent: (f.field ? fieldLabel(form, f.field) + ': ' : '') + (f.message || 'is invalid'),
      }))));
      const named = new Set(fields.map((f) => f.field));
      if (form) {
        form.querySelectorAll('[data-field]').forEach((input) => {
          if (named.has(input.dataset.field)) input.setAttribute('aria-invalid', 'true');
        });
      }
    }
    show(box, true);
  }

  /** The visible label of the input bound to an API field name, else the name itself. */
  function fieldLabel(form, field) {
    const input = form ? [...form.querySelectorAll('[data-field]')].find((n) => n.dataset.field === field) : null;
    const label = input && input.labels && input.labels[0];
    return label ? label.firstChild.textContent.trim() : field;
  }

  function problemTitle(err) {
    if (!(err instanceof ApiError)) return 'Error.';
    const title = err.problem.title || (err.status ? 'Error ' + err.status : 'Network error');
    return title.endsWith('.') ? title : title + '.';
  }

  function clearProblem(box, form) {
    box.replaceChildren();
    show(box, false);
    if (form) form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  }

  /* ------------------------------------------------------------ leaderboard */

  function boardChannel() {
    return board.country ? 'leaderboard/' + board.country : 'leaderboard';
  }

  function boardKey() {
    return [board.country || 'global', board.period, board.offset].join('|');
  }

  function boardUrl() {
    const q = new URLSearchParams();
    q.set('scope', board.country ? 'country' : 'global');
    if (board.country) q.set('country', board.country);
    q.set('period', board.period);
    q.set('limit', String(PAGE_SIZE));
    if (board.offset > 0) q.set('offset', String(board.offset));
    return '/api/leaderboards?' + q.toString();
  }

  /**
   * Refetch of the current page for the realtime path. Bursts coalesce into
   * one request (a pending timer is kept, not pushed back, so a steady stream
   * of messages still refreshes the board); delay 0 (a seq gap) goes at once.
   */
  function scheduleRefetch(delay) {
    if (board.refetchTimer && delay > 0) return;
    clearTimeout(board.refetchTimer);
    board.refetchTimer = setTimeout(() => {
      board.refetchTimer = 0;
      if (board.inFlight) board.again = true;
      else loadBoard();
    }, delay);
  }

  /** Fetches the current page and renders it (a newer call supersedes an older one). */
  async function loadBoard() {
    clearTimeout(board.refetchTimer);
    board.refetchTimer = 0;
    board.again = false;
    if (board.controller) board.controller.abort();
    const controller = new AbortController();
    board.controller = controller;
    const generation = ++board.generation;
    board.inFlight = true;
    $('board-panel').setAttribute('aria-busy', 'true');
    try {
      const data = await request('GET', boardUrl(), { signal: controller.signal });
      if (generation !== board.generation) return;
      if (isStale(data)) {
        board.staleRetries++;
        scheduleRefetch(STALE_RETRY_MS);
        return;
      }
      board.staleRetries = 0;
      if (typeof data.seq === 'number') board.lastSeq = data.seq;
      board.wantSeq = null;
      renderBoard(data);
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      if (generation !== board.generation) return;
      renderBoardError(err);
    } finally {
      if (generation === board.generation) {
        board.inFlight = false;
        $('board-panel').setAttribute('aria-busy', 'false');
        if (board.again) scheduleRefetch(REFETCH_DEBOUNCE_MS);
      }
    }
  }

  /** True when the snapshot predates a realtime message we already saw (microcache). */
  function isStale(data) {
    return typeof data.seq === 'number' && board.wantSeq !== null &&
      data.seq < board.wantSeq && board.staleRetries < STALE_RETRY_MAX;
  }

  /** Switches board (period/country/page): forget highlights, refetch, resubscribe. */
  function changeBoard(changes) {
    Object.assign(board, changes);
    board.pending.clear();
    board.lastSeq = null;
    board.wantSeq = null;
    board.staleRetries = 0;
    loadBoard();
    rtSubscribe(boardChannel());
  }

  function renderBoard(data) {
    const key = boardKey();
    const sameBoard = key === board.key;
    const previous = sameBoard ? board.ranks : new Map();
    const windowed = WINDOWED.has(board.period);
    const entries = Array.isArray(data.entries) ? data.entries : [];
    const moves = [];

    const rows = entries.map((entry) => {
      const move = movementOf(entry, previous, sameBoard);
      if (move) moves.push({ entry, move });
      return boardRow(entry, move, windowed);
    });

    $('board-body').replaceChildren(...rows);
    $('board-table').classList.toggle('is-windowed', windowed);
    show($('board-table-wrap'), entries.length > 0);
    setNotice(entries.length ? '' : emptyMessage(), false);
    renderMeta(data);
    renderPager(data, entries.length);
    announceMoves(moves);

    board.data = data;
    board.key = key;
    board.ranks = new Map(entries.map((e) => [e.playerId, e.rank]));
    board.pending.clear();
    if (moves.length) setTimeout(clearFlashes, FLASH_MS);
  }

  /**
   * How a row moved: compares with the previous render, falling back to the
   * realtime message (rank/previousRank) for players new on this page.
   */
  function movementOf(entry, previous, sameBoard) {
    const update = board.pending.get(entry.playerId);
    const before = previous.get(entry.playerId);
    let places = 0;
    if (sameBoard && before !== undefined) {
      places = before - entry.rank;
    } else if (update && board.period === 'all' && typeof update.previousRank === 'number' &&
               typeof update.rank === 'number') {
      places = update.previousRank - update.rank;
    }
    const delta = update && typeof update.delta === 'number' ? update.delta : null;
    if (places === 0 && delta === null) return null;
    let dir = 'same';
    if (places > 0) dir = 'up';
    else if (places < 0) dir = 'down';
    else if (delta > 0) dir = 'up';
    else if (delta < 0) dir = 'down';
    return { places, delta, dir };
  }

  function boardRow(entry, move, windowed) {
    const tr = el('tr', { 'data-rank': entry.rank, 'data-player': entry.playerId });
    if (session && session.user && session.user.id === entry.playerId) tr.classList.add('is-me');
    if (move) tr.classList.add('flash-' + move.dir);

    const rankCell = el('span', { className: 'rank' }, [
      el('span', { className: 'rank__n', textContent: String(entry.rank) }),
      move && move.places !== 0 ? moveBadge(move.places) : null,
    ]);
    const playerCell = [
      el('span', { className: 'player__name', textContent: entry.displayName || entry.username }),
      el('span', { className: 'player__user', textContent: '@' + entry.username }),
    ];
    const change = typeof entry.change === 'number' ? entry.change : 0;
    const changeClass = change > 0 ? 'change change--up' : change < 0 ? 'change change--down' : 'change muted';
    const eloCell = [
      el('span', { className: 'elo', textContent: String(entry.elo) }),
      move && move.delta !== null ? eloBadge(move.delta) : null,
    ];
    const winRate = typeof entry.winRate === 'number' ? (entry.winRate * 100).toFixed(1) + '%' : '—';

    tr.append(
      el('td', { className: 'col-rank' }, [rankCell]),
      el('td', { className: 'col-player' }, playerCell),
      el('td', { className: 'col-cc' }, [entry.countryCode
        ? el('span', { className: 'cc', textContent: entry.countryCode, title: countryName(entry.countryCode) })
        : el('span', { className: 'muted', textContent: '—' })]),
      el('td', { className: 'col-change num' }, [el('span', { className: changeClass, textContent: signed(change) })]),
      el('td', { className: 'col-elo num' }, eloCell),
      el('td', { className: 'col-wld num', textContent: [entry.wins, entry.losses, entry.draws].join('–') }),
      el('td', { className: 'col-rate num', textContent: winRate }),
      el('td', { className: 'col-games num', textContent: String(entry.gamesPlayed) }),
    );
    if (!windowed) tr.querySelector('.col-change').setAttribute('aria-hidden', 'true');
    return tr;
  }

  function moveBadge(places) {
    const up = places > 0;
    return el('span', {
      className: 'move ' + (up ? 'move--up' : 'move--down'),
      textContent: (up ? '▲' : '▼') + Math.abs(places),
      title: (up ? 'Up ' : 'Down ') + Math.abs(places) + (Math.abs(places) === 1 ? ' place' : ' places'),
    });
  }

  function eloBadge(delta) {
    const kind = delta > 0 ? 'up' : delta < 0 ? 'down' : 'same';
    return el('span', {
      className: 'move elo-delta move--' + kind,
      textContent: signed(delta),
      title: 'Elo change in the last match',
    });
  }

  function clearFlashes() {
    $('board-body').querySelectorAll('tr[class*="flash-"]').forEach((tr) => {
      tr.classList.remove('flash-up', 'flash-down', 'flash-same');
    });
  }

  function emptyMessage() {
    if (WINDOWED.has(board.period)) {
      return 'No rated games ' + PERIOD_LABELS[board.period].toLowerCase() +
        ' yet on this board — report a match and watch it appear.';
    }
    if (board.offset > 0) return 'No players on this page.';
    return board.country
      ? 'No ranked players from ' + countryName(board.country) + ' yet.'
      : 'No ranked players yet.';
  }

  function setNotice(text, isError) {
    const notice = $('board-notice');
    notice.textContent = text;
    notice.classList.toggle('notice--error', Boolean(isError));
    show(notice, Boolean(text));
  }

  function renderBoardError(err) {
    if (board.data && board.key === boardKey()) {
      // a live refresh failed: keep the table we have and say so
      setNotice('Could not refresh the leaderboard: ' + err.message, true);
      return;
    }
    board.data = null;
    board.key = '';
    board.ranks = new Map();
    $('board-body').replaceChildren();
    show($('board-table-wrap'), false);
    renderPager(null, 0);
    if (board.period === 'season' && err instanceof ApiError && err.status === 404) {
      $('board-meta').textContent = describeBoard() + ' · no season running';
      setNotice('There is no current season right now. An admin can start one ' +
        '(POST /api/seasons); meanwhile try the All time or Today tabs.', false);
      return;
    }
    $('board-meta').textContent = describeBoard();
    setNotice('Could not load the leaderboard: ' + err.message, true);
  }

  function describeBoard() {
    const where = board.country ? countryName(board.country) : 'Global';
    return where + ' · ' + PERIOD_LABELS[board.period];
  }

  function renderMeta(data) {
    const parts = [describeBoard()];
    if (board.period === 'season' && typeof data.season === 'string') parts.push(data.season);
    if (typeof data.total === 'number') parts.push(data.total + (data.total === 1 ? ' player' : ' players'));
    const at = formatTime(data.generatedAt);
    if (at) parts.push('updated ' + at);
    $('board-meta').textContent = parts.join(' · ');
    $('board-caption').textContent = describeBoard() + ' leaderboard';
  }

  function renderPager(data, count) {
    const total = data && typeof data.total === 'number' ? data.total : null;
    const hasNext = data ? (total !== null ? board.offset + count < total : Boolean(data.nextCursor)) : false;
    $('page-prev').disabled = board.offset === 0;
    $('page-next').disabled = !hasNext;
    show($('pager'), count > 0 || board.offset > 0);
    $('page-info').textContent = count
      ? (board.offset + 1) + '–' + (board.offset + count) + (total !== null ? ' of ' + total : '')
      : '';
  }

  function announceMoves(moves) {
    const text = moves.filter((m) => m.move.places !== 0).slice(0, 3).map(({ entry, move }) => {
      const n = Math.abs(move.places);
      return entry.username + ' moved ' + (move.places > 0 ? 'up ' : 'down ') + n +
        (n === 1 ? ' place' : ' places') + ' to #' + entry.rank +
        (move.delta !== null ? ' (' + signed(move.delta) + ' Elo)' : '') + '.';
    }).join(' ');
    if (text) $('announce').textContent = text;
  }

  /* ------------------------------------------------------------ realtime */

  function rtUrl(channel) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return proto + '//' + location.host + '/rt/' + channel;
  }

  /** (Re)subscribes to a channel; a no-op when already on it. */
  function rtSubscribe(channel) {
    if (rt.channel === channel && rt.ws) return;
    rtClose();
    rt.channel = channel;
    rt.failures = 0;
    rt.everOpened = false;
    rtConnect();
  }

  function rtClose() {
    clearTimeout(rt.retryTimer);
    clearInterval(rt.countdownTimer);
    if (!rt.ws) return;
    const ws = rt.ws;
    rt.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000, 'switching channel');
    } catch (_) { /* already closed */ }
  }

  function rtConnect() {
    clearTimeout(rt.retryTimer);
    clearInterval(rt.countdownTimer);
    if (navigator.onLine === false) {
      setConn('offline', 'Offline — waiting for the network');
      return;
    }
    setConn(rt.failures ? 'reconnecting' : 'connecting', rt.failures ? 'Reconnecting…' : 'Connecting…');
    let ws;
    try {
      ws = new WebSocket(rtUrl(rt.channel));
    } catch (_) {
      rtScheduleReconnect();
      return;
    }
    rt.ws = ws;
    ws.onopen = () => {
      const resumed = rt.everOpened || rt.failures > 0;
      rt.failures = 0;
      rt.everOpened = true;
      setConn('live', 'Live');
      // messages may have been missed while disconnected: resync the snapshot
      if (resumed) {
        board.lastSeq = null;
        loadBoard();
      }
    };
    ws.onmessage = (event) => onRtFrame(event.data);
    ws.onclose = () => {
      if (rt.ws !== ws) return;
      rt.ws = null;
      rtScheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows and schedules the retry */ };
  }

  /** Exponential back-off with jitter: 0.5 s, 1 s, 2 s … capped at 10 s. */
  function rtScheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** rt.failures);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    rt.failures++;
    const state = rt.failures >= OFFLINE_AFTER_FAILURES ? 'offline' : 'reconnecting';
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      setConn(state, (state === 'offline' ? 'Offline — retrying in ' : 'Reconnecting in ') + left + ' s');
    };
    tick();
    rt.countdownTimer = setInterval(tick, 1000);
    rt.retryTimer = setTimeout(rtConnect, delay);
  }

  function setConn(state, label) {
    const node = $('conn');
    if (node.dataset.state !== state) node.dataset.state = state;
    const text = $('conn-label');
    if (text.textContent !== label) text.textContent = label;
    node.title = 'Realtime channel /rt/' + rt.channel;
  }

  /** Handles one WebSocket text frame; anything that is not a JSON message is ignored. */
  function onRtFrame(raw) {
    if (typeof raw !== 'string' || raw[0] !== '{') return;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    if (msg.channel && rt.channel && msg.channel !== rt.channel) return;

    const seq = typeof msg.seq === 'number' ? msg.seq : null;
    const gap = seq !== null && board.lastSeq !== null && seq !== board.lastSeq + 1;
    if (seq !== null) {
      board.lastSeq = seq;
      board.wantSeq = seq;
      board.staleRetries = 0;
    }
    if (msg.type === 'leaderboard_update' && msg.data && Array.isArray(msg.data.entries)) {
      for (const entry of msg.data.entries) {
        if (entry && typeof entry.playerId === 'string') board.pending.set(entry.playerId, entry);
      }
    }
    // a gap means we missed something: resync at once; otherwise coalesce bursts
    scheduleRefetch(gap ? 0 : REFETCH_DEBOUNCE_MS);
  }

  /* ------------------------------------------------------------ countries */

  async function loadCountries() {
    const codes = new Set(COMMON_COUNTRIES);
    try {
      const data = await request('GET', '/api/leaderboards?scope=global&period=all&limit=100');
      for (const entry of data.entries || []) {
        rememberPlayer({ id: entry.playerId, username: entry.username, displayName: entry.displayName,
          countryCode: entry.countryCode, elo: entry.elo });
        if (typeof entry.countryCode === 'string' && /^[A-Z]{2}$/.test(entry.countryCode)) codes.add(entry.countryCode);
      }
    } catch (_) { /* the static list is enough */ }
    const sorted = [...codes].sort((a, b) => countryName(a).localeCompare(countryName(b)));
    fillCountrySelect($('country'), sorted, board.country);
    fillCountrySelect($('reg-country'), sorted, '');
  }

  function fillCountrySelect(select, codes, selected) {
    const first = select.options[0];
    const options = codes.map((code) => el('option', {
      value: code,
      textContent: countryName(code) + ' (' + code + ')',
    }));
    select.replaceChildren(first, ...options);
    select.value = selected;
  }

  /* ------------------------------------------------------------ session */

  function loadStoredSession() {
    try {
      const raw = sessionStorage.getItem(SESSION_KEY);
      const s = raw ? JSON.parse(raw) : null;
      if (s && typeof s.token === 'string' && s.user && typeof s.user.username === 'string') return s;
    } catch (_) { /* storage disabled or corrupt */ }
    return null;
  }

  function setSession(next) {
    session = next ? { token: next.token, refreshToken: next.refreshToken, user: next.user } : null;
    try {
      if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      else sessionStorage.removeItem(SESSION_KEY);
    } catch (_) { /* memory only */ }
    renderSession();
  }

  async function refreshSession() {
    if (!session || !session.refreshToken) return false;
    try {
      const data = await request('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      setSession(data);
      return true;
    } catch (_) {
      return false;
    }
  }

  /** Confirms a restored session is still good (renewing it if needed). */
  async function checkSession() {
    if (!session) return;
    try {
      const me = await authed('GET', '/api/auth/me');
      if (session && me && me.username) setSession(Object.assign({}, session, { user: Object.assign({}, session.user, me) }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setSession(null);
    }
  }

  function renderSession() {
    const user = session && session.user;
    show($('signed-in'), Boolean(user));
    show($('signed-out'), !user);
    $('report-fields').disabled = !user;
    if (user) {
      $('who-name').textContent = user.displayName || user.username;
      const role = user.role === 'admin' ? ' · admin' : '';
      $('who-sub').textContent = '@' + user.username + (typeof user.elo === 'number' ? ' · ' + user.elo + ' Elo' : '') + role;
      $('who-avatar').textContent = (user.displayName || user.username).slice(0, 1);
      $('report-hint').textContent = user.role === 'admin'
        ? 'As admin you can report a result between any two players.'
        : 'You can report your own matches. Log in as admin to report any pair.';
      if (user.role !== 'admin' && !$('p1').value) $('p1').value = user.username;
    } else {
      $('report-hint').replaceChildren(
        'Log in to report a result. Players may only report their own matches — log in as ',
        el('strong', { textContent: 'admin' }), ' (password ', el('code', { textContent: DEMO_PASSWORD }),
        ') to report any pair.');
    }
    // "you" highlight in the table
    $('board-body').querySelectorAll('tr[data-player]').forEach((tr) => {
      tr.classList.toggle('is-me', Boolean(user) && tr.dataset.player === user.id);
    });
  }

  async function onLogin(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const box = $('login-error');
    clearProblem(box, form);
    const login = $('login-name').value.trim();
    const password = $('login-password').value;
    if (!login || !password) {
      showProblem(box, form, new ApiError(422, { title: 'Missing fields', detail: 'Enter a username or email and a password.' }));
      return;
    }
    await withBusy(form, async () => {
      try {
        setSession(await request('POST', '/api/auth/login', { body: { login, password } }));
        form.reset();
      } catch (err) {
        showProblem(box, form, err);
      }
    });
  }

  async function onRegister(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const box = $('register-error');
    clearProblem(box, form);
    const body = {
      username: $('reg-username').value.trim(),
      email: $('reg-email').value.trim(),
      password: $('reg-password').value,
    };
    const cc = $('reg-country').value;
    if (cc) body.countryCode = cc;
    await withBusy(form, async () => {
      try {
        setSession(await request('POST', '/api/auth/register', { body }));
        form.reset();
      } catch (err) {
        showProblem(box, form, err);
      }
    });
  }

  async function onLogout() {
    const current = session;
    setSession(null);
    $('report-result').replaceChildren();
    show($('report-result'), false);
    if (!current) return;
    try {
      await request('POST', '/api/auth/logout', {
        token: current.token,
        body: current.refreshToken ? { refreshToken: current.refreshToken } : {},
      });
    } catch (_) { /* the local session is gone either way */ }
  }

  function showAccountForm(which) {
    const login = which === 'login';
    show($('login-form'), login);
    show($('register-form'), !login);
    $('show-login').setAttribute('aria-pressed', String(login));
    $('show-register').setAttribute('aria-pressed', String(!login));
  }

  function fillLogin(username) {
    showAccountForm('login');
    $('login-name').value = username;
    $('login-password').value = DEMO_PASSWORD;
    $('login-form').querySelector('button[type="submit"]').focus();
  }

  function randomDemoPlayer() {
    const demos = [...knownPlayers.values()].filter((p) => /^demo\d+$/.test(p.username));
    if (demos.length) return demos[Math.floor(Math.random() * demos.length)].username;
    return 'demo' + String(1 + Math.floor(Math.random() * 50)).padStart(6, '0');
  }

  /** Disables a form's submit button while `work` runs. */
  async function withBusy(form, work) {
    const button = form.querySelector('button[type="submit"]');
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Working…';
    try {
      await work();
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  /* ------------------------------------------------------------ players / autocomplete */

  function rememberPlayer(p) {
    if (p && typeof p.username === 'string' && typeof p.id === 'string') knownPlayers.set(p.username.toLowerCase(), p);
  }

  async function searchPlayers(prefix) {
    const q = new URLSearchParams({ search: prefix, limit: '8' });
    const data = await request('GET', '/api/players?' + q.toString());
    const players = Array.isArray(data && data.players) ? data.players : [];
    players.forEach(rememberPlayer);
    return players;
  }

  /** Wires an input to its datalist: suggestions from GET /api/players?search=. */
  function setupAutocomplete(input, list) {
    let timer = 0;
    let lastPrefix = '';
    input.addEventListener('input', () => {
      input.removeAttribute('aria-invalid');
      clearTimeout(timer);
      const prefix = input.value.trim();
      if (!prefix || prefix === lastPrefix) return;
      timer = setTimeout(async () => {
        lastPrefix = prefix;
        try {
          const players = await searchPlayers(prefix);
          if (input.value.trim() !== prefix) return;
          list.replaceChildren(...players.map((p) => el('option', {
            value: p.username,
            label: (p.displayName || p.username) + (p.countryCode ? ' · ' + p.countryCode : '') +
              (typeof p.elo === 'number' ? ' · ' + p.elo : ''),
          })));
        } catch (_) { /* suggestions are optional */ }
      }, 200);
    });
  }

  /** Finds a player by exact username (case-insensitive), asking the API if needed. */
  async function resolvePlayer(name) {
    const key = name.trim().toLowerCase();
    if (!key) return null;
    if (knownPlayers.has(key)) return knownPlayers.get(key);
    const players = await searchPlayers(name.trim());
    return players.find((p) => p.username.toLowerCase() === key) || null;
  }

  /* ------------------------------------------------------------ report a match */

  function readScore(id) {
    const raw = $(id).value.trim();
    return /^\d{1,4}$/.test(raw) ? Number(raw) : null;
  }

  async function onReport(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const box = $('report-error');
    const out = $('report-result');
    clearProblem(box, form);
    if (!session) {
      showProblem(box, form, new ApiError(401, { title: 'Not logged in', detail: 'Log in first.' }));
      return;
    }
    const s1 = readScore('s1');
    const s2 = readScore('s2');
    const errors = [];
    if (!$('p1').value.trim()) errors.push({ field: 'player1Id', message: 'choose player 1' });
    if (!$('p2').value.trim()) errors.push({ field: 'player2Id', message: 'choose player 2' });
    if (s1 === null) errors.push({ field: 'player1Score', message: 'must be a whole number ≥ 0' });
    if (s2 === null) errors.push({ field: 'player2Score', message: 'must be a whole number ≥ 0' });
    if (errors.length) {
      showProblem(box, form, new ApiError(422, { title: 'Check the form', detail: 'Some fields need attention:', errors }));
      return;
    }
    await withBusy(form, async () => {
      try {
        const result = await reportMatch($('p1').value, $('p2').value, s1, s2);
        renderResult(result);
      } catch (err) {
        show(out, false);
        if (err instanceof ApiError && err.status === 403 && session && session.user.role !== 'admin') {
          err.setDetail(err.message + ' — log in as admin to report a match between any two players.');
        }
        showProblem(box, form, err);
      }
    });
  }

  /** Resolves both players, creates the match, reports its result. */
  async function reportMatch(name1, name2, score1, score2) {
    const [p1, p2] = await Promise.all([resolvePlayer(name1), resolvePlayer(name2)]);
    const missing = [];
    if (!p1) missing.push({ field: 'player1Id', message: 'no player named "' + name1.trim() + '"' });
    if (!p2) missing.push({ field: 'player2Id', message: 'no player named "' + name2.trim() + '"' });
    if (missing.length) throw new ApiError(422, { title: 'Unknown player', detail: 'Pick players from the suggestions.', errors: missing });
    const match = await authed('POST', '/api/matches', { player1Id: p1.id, player2Id: p2.id });
    let outcome;
    try {
      outcome = await authed('POST', '/api/matches/' + encodeURIComponent(match.id) + '/result',
        { player1Score: score1, player2Score: score2 });
    } catch (err) {
      if (err instanceof ApiError) {
        err.setDetail('The match was created but the result was refused: ' + err.message);
      }
      throw err;
    }
    return { p1, p2, score1, score2, outcome: outcome || {} };
  }

  function renderResult({ p1, p2, score1, score2, outcome }) {
    const out = $('report-result');
    const names = new Map([[p1.id, p1], [p2.id, p2]]);
    const changes = Array.isArray(outcome.ratingChanges) ? outcome.ratingChanges : [];
    const title = el('p', {
      className: 'result__title',
      textContent: 'Recorded: ' + p1.username + ' ' + score1 + ' – ' + score2 + ' ' + p2.username,
    });
    if (!changes.length) {
      out.replaceChildren(title, el('p', {
        className: 'hint',
        textContent: 'Ratings move once the opponent confirms the result.',
      }));
    } else {
      out.replaceChildren(title, el('ul', {}, changes.map((c) => {
        const who = names.get(c.playerId);
        const kind = c.delta > 0 ? 'up' : c.delta < 0 ? 'down' : 'same';
        return el('li', {}, [
          el('span', { textContent: who ? who.username : c.playerId }),
          el('span', {}, [
            c.before + ' → ' + c.after + ' ',
            el('span', { className: 'move move--' + kind, textContent: signed(c.delta) }),
          ]),
        ]);
      })));
      for (const c of changes) {
        const who = names.get(c.playerId);
        if (who) who.elo = c.after;
      }
    }
    show(out, true);
  }

  function fillRandomPair() {
    const pool = [...knownPlayers.values()];
    if (pool.length < 2) return;
    const mine = session && session.user.role !== 'admin' ? session.user.username : null;
    const first = mine || pool[Math.floor(Math.random() * pool.length)].username;
    let second = first;
    while (second === first) second = pool[Math.floor(Math.random() * pool.length)].username;
    $('p1').value = first;
    $('p2').value = second;
    const a = Math.floor(Math.random() * 4);
    let b = Math.floor(Math.random() * 4);
    if (a === b && Math.random() < 0.7) b = (b + 1) % 4;
    $('s1').value = String(a);
    $('s2').value = String(b);
  }

  /* ------------------------------------------------------------ period tabs */

  function setupTabs() {
    const tabs = [...document.querySelectorAll('#period-tabs [role="tab"]')];
    const select = (tab, focus) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute('aria-selected', String(on));
        t.tabIndex = on ? 0 : -1;
      }
      if (focus) tab.focus();
      if (board.period !== tab.dataset.period) changeBoard({ period: tab.dataset.period, offset: 0 });
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => select(tab, false));
      tab.addEventListener('keydown', (e) => {
        let next = null;
        if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
        else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (e.key === 'Home') next = tabs[0];
        else if (e.key === 'End') next = tabs[tabs.length - 1];
        if (next) {
          e.preventDefault();
          select(next, true);
        }
      });
    });
  }

  /* ------------------------------------------------------------ start */

  function bindEvents() {
    setupTabs();
    $('country').addEventListener('change', (e) => changeBoard({ country: e.target.value, offset: 0 }));
    $('page-prev').addEventListener('click', () => changeBoard({ offset: Math.max(0, board.offset - PAGE_SIZE) }));
    $('page-next').addEventListener('click', () => changeBoard({ offset: board.offset + PAGE_SIZE }));
    $('show-login').addEventListener('click', () => showAccountForm('login'));
    $('show-register').addEventListener('click', () => showAccountForm('register'));
    $('login-form').addEventListener('submit', onLogin);
    $('register-form').addEventListener('submit', onRegister);
    $('logout').addEventListener('click', onLogout);
    $('fill-admin').addEventListener('click', () => fillLogin('admin'));
    $('fill-player').addEventListener('click', () => fillLogin(randomDemoPlayer()));
    $('report-form').addEventListener('submit', onReport);
    $('random-pair').addEventListener('click', fillRandomPair);
    setupAutocomplete($('p1'), $('p1-options'));
    setupAutocomplete($('p2'), $('p2-options'));
    window.addEventListener('online', () => {
      if (!rt.ws) {
        rt.failures = 0;
        rtConnect();
      }
    });
    window.addEventListener('offline', () => {
      if (!rt.ws) setConn('offline', 'Offline — waiting for the network');
    });
  }

  async function start() {
    bindEvents();
    session = loadStoredSession();
    renderSession();
    loadBoard();
    rtSubscribe(boardChannel());
    await loadCountries();
    await checkSession();
  }

  // exposed for debugging in the console only
  window.rankPulseDemo = { board, rt };

  start();
})();

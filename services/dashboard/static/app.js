// The dashboard page (docs/dashboard.md): one websocket (/ws) carrying a snapshot then deltas,
// applied to one view document and rendered incrementally (dirty parts only, once a frame).
// Plain ES module, no build step; uPlot (vendor/uplot, a classic script) draws the charts.
//
// Stable hooks for browser tests (keep them; tests/browser/ relies on them):
//   #trading-state              its text is the trading state: ACTIVE | REDUCING | HALTED | n/a
//                               (#trading-reason the reason; #state-banner data-state= the same)
//   #connection                 data-state="live" | "reconnecting" (also before the first
//                               connection); data-attempt and the text give the attempt count
//   [data-tab=overview|orders|market|latency|research|controls]   the tab buttons; the current
//                               one has aria-selected="true" and class "active" (panels:
//                               [data-panel=<name>], ids #panel-<name>); keys 1-6 switch too
//   [data-testid=services] tr[data-service=<name>]        (Overview)
//   [data-testid=positions] tr[data-symbol=<symbol>]      (Overview)
//   [data-testid=strategies] tr[data-strategy=<id>]       (Overview)
//   [data-testid=alerts] tr[data-code][data-severity]     (Overview, newest first)
//   [data-testid=working-orders] tr[data-order-id=<client_order_id>][data-symbol]  (Orders)
//   [data-testid=fills] tr[data-exec-id]   (Orders, newest first) data-exec-id is the fill's
//                               exec_id when it has one, else "<client_order_id>@<ts_ns>";
//                               data-symbol, data-order-id; the 2nd cell is the symbol
//   [data-testid=denials] tr[data-kind=denied|rejected][data-order-id]  (Orders)
//   [data-testid=market-symbols] tr[data-symbol], [data-testid=ranking] tr[data-symbol],
//   [data-testid=price-charts] .chart-card[data-symbol]   (Market)
//   [data-testid=mm-stages] tr[data-stage]                (Latency)
//   [data-testid=reports] tr[data-report] a[href="/reports/<name>"] (Research; loaded when
//                               the tab is first shown, #reports-reload again)
//   #token (password input), #halt, #resume, #cancel-all, .flatten[data-symbol] (one per open
//                               position, Controls tab only)
//   #confirm (the <dialog>, open while asking), #confirm-yes, #confirm-no
//   #control-result             the last control's outcome: data-status = the HTTP status
//                               ("0": not sent: no token typed, or cancelled in the dialog,
//                               or controls disabled), data-ok = "true" | "false"
//   #readonly-notice            shown when settings.controls_enabled is not true (then the
//                               control buttons are disabled)
//   window.__dashboard          {state (the view), connected (bool), snapshots (count), seq,
//                               reconnects, renderPending (the DOM lags the state),
//                               eventToDomMs (last 10000, ms, recorded in the
//                               rAF callback after the DOM update, for deltas with ts_sent_ns > 0),
//                               renderMs (last 1000 frames' DOM work, ms: the page's own share)}
//
// A control with an empty token is not sent and asks for no confirmation.

import {
  NA, nf, num, fixed, signed, pnlClass, busTotalClass, dropChipClass, statusBadge, fmtAgeS,
} from './format.js';

// ------------------------------------------------------------------ constants
// a list's bound by its last path key: the server keeps the same (services/dashboard/view.py)
const LIST_BOUNDS = {
  alerts: 200, fills: 200, denials: 200, equity: 2000, realised_pnl: 2000, prices: 1200, series: 1800,
};
const DEFAULT_BOUND = 2000;
const LATENCY_KEEP = 10000;
const CHART_MIN_INTERVAL_MS = 500;
const BACKOFF_START_MS = 500, BACKOFF_MAX_MS = 5000;
const SILENT_AFTER_S = 10;        // a live socket quiet this long is flagged (polls come every 2 s)
const TABS = ['overview', 'orders', 'market', 'latency', 'research', 'controls'];
const COLORS = {
  green: '#3fb950', red: '#f85149', amber: '#d29922', blue: '#58a6ff', purple: '#bc8cff',
  axis: '#8b949e', grid: '#21262d', text: '#c9d1d9',
};

// ------------------------------------------------------------------ state
let state = emptyView();
let seq = null;
let connected = false;
let snapshots = 0;
let reconnects = 0;
let attempt = 0;
let ws = null;
let lastMessageMs = 0;
let disconnectedSinceMs = null;
const eventToDomMs = [];
const renderMs = [];              // how long each frame's DOM work took (the page's own share)
let pendingLatencySent = [];      // ts_sent_ms of deltas applied but not yet rendered

window.__dashboard = {
  get state() { return state; },
  get connected() { return connected; },
  get snapshots() { return snapshots; },
  get seq() { return seq; },
  get reconnects() { return reconnects; },
  get renderPending() { return frameRequested; },  // true: state changes not in the DOM yet
  eventToDomMs,
  renderMs,
};

function emptyView() {
  return {
    settings: {}, health: { services: {}, bus: {}, breakers: {} }, alerts: [],
    money: { positions: {}, equity: [], realised_pnl: [] },
    orders: { working: {}, fills: [], denials: [] },
    market: { symbols: {}, ranking: [], mm_selection: [] },
    strategies: {}, latency: {},
  };
}

// ------------------------------------------------------------------ formatting
// NA, nf, num, fixed, signed, pnlClass: format.js (unknown is n/a; a zero has no sign)
function intf(v) { const n = num(v); return n === null ? NA : nf(0).format(n); }

// decimals learned per symbol from the venue's own strings (tick and lot sizes)
const priceDp = new Map(), qtyDp = new Map();
function decimalsOf(s) {
  if (typeof s !== 'string') return null;
  const i = s.indexOf('.');
  if (i < 0) return 0;
  let end = s.length;
  while (end > i + 1 && s[end - 1] === '0') end--;
  return Math.min(8, end - i - 1);
}
function learn(map, sym, s) {
  const d = decimalsOf(s);
  if (d === null || !sym) return;
  const cur = map.get(sym);
  if (cur === undefined || d > cur) map.set(sym, d);
}
function fmtPrice(sym, v) {
  const d = priceDp.get(sym);
  if (d !== undefined) return fixed(v, d);
  const n = num(v);
  if (n === null) return NA;
  if (typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(v)) return groupStr(v);
  return nf(n >= 1000 ? 2 : n >= 1 ? 4 : 6).format(n);
}
// "12345.678" -> "12,345.678": the digits as given, the integer part grouped
function groupStr(s) {
  const neg = s[0] === '-';
  const body = neg ? s.slice(1) : s;
  const i = body.indexOf('.');
  const int = i < 0 ? body : body.slice(0, i);
  const frac = i < 0 ? '' : body.slice(i);
  return (neg ? '-' : '') + int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + frac;
}
function fmtQty(sym, v) {
  if (typeof v === 'string') learn(qtyDp, sym, v);
  const d = qtyDp.get(sym);
  if (d !== undefined) return fixed(v, d);
  const n = num(v);
  if (n === null) return NA;
  return typeof v === 'string' ? v : String(n);
}
function usdt(v) { return fixed(v, 2); }
function pad2(n) { return n < 10 ? '0' + n : '' + n; }
function fmtTime(tsNs) {
  const n = num(tsNs);
  if (n === null || n <= 0) return NA;
  const d = new Date(n / 1e6);
  const ms = d.getUTCMilliseconds();
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${ms < 10 ? '00' + ms : ms < 100 ? '0' + ms : ms}`;
}
function fmtDateTime(ms) {
  if (ms === null) return NA;
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}
function fmtAge(tsNs) {
  const n = num(tsNs);
  if (n === null || n <= 0) return NA;
  const s = (Date.now() - n / 1e6) / 1000;
  if (s < 0) return '0.0 s';
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' m ' + pad2(Math.floor(s % 60)) + ' s';
  return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' m';
}
function ageSeconds(tsNs) {
  const n = num(tsNs);
  return n === null || n <= 0 ? null : (Date.now() - n / 1e6) / 1000;
}
function fmtDuration(sec) {
  const s = num(sec);
  if (s === null) return NA;
  if (s < 60) return s.toFixed(0) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' m ' + pad2(Math.floor(s % 60)) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' m';
  return Math.floor(s / 86400) + ' d ' + pad2(Math.floor((s % 86400) / 3600)) + ' h';
}
function fmtBytes(b) {
  const n = num(b);
  if (n === null) return NA;
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}
function shortId(s) {
  if (typeof s !== 'string') return NA;
  return s.length > 14 ? '…' + s.slice(-10) : s;
}
function sideClass(side) {
  const s = String(side || '').toLowerCase();
  return s === 'buy' ? 'buy' : s === 'sell' ? 'sell' : '';
}

// ------------------------------------------------------------------ DOM helpers
const $ = (id) => document.getElementById(id);
function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }
function setCls(el, cls) { if (el && el.className !== cls) el.className = cls; }
function cell(td, spec) {
  // spec: string | {t: text, c: class, title}
  let t, c = '', title;
  if (spec !== null && typeof spec === 'object') { t = spec.t; c = spec.c || ''; title = spec.title; } else t = spec;
  if (t === null || t === undefined) t = NA;
  if (td.__t !== t) { td.textContent = t; td.__t = t; }
  if (td.__c !== c) { td.className = c; td.__c = c; }
  if (title !== undefined && td.title !== title) td.title = title;
}
function emptyRow(tbody, colspan, text) {
  const tr = document.createElement('tr');
  tr.className = 'empty';
  const td = document.createElement('td');
  td.colSpan = colspan;
  td.textContent = text;
  tr.appendChild(td);
  return tr;
}
function cmpKeys(a, b) {
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

// A table over an object {key: item}: rows keyed, cells written only when their text changes,
// and on a partial update only the changed keys are visited.
class KeyedTable {
  constructor(tbody, opts) {
    this.tbody = tbody;
    this.cols = opts.cols;                  // [(key, item) => spec]
    this.rowAttr = opts.rowAttr;            // attribute name for the key, e.g. 'data-symbol'
    this.rowClass = opts.rowClass || null;  // (key, item) => class
    this.sortKey = opts.sortKey || ((k) => [k]);
    this.filter = opts.filter || null;
    this.extra = opts.extra || null;        // (tr, key, item) => void, after the cells
    this.emptyText = opts.emptyText || 'none';
    this.rows = new Map();
    this.empty = emptyRow(tbody, this.cols.length + (opts.extraCols || 0), this.emptyText);
    tbody.appendChild(this.empty);
  }
  update(obj, keys) {
    obj = obj || {};
    if (keys === true || keys === undefined) {
      for (const k of this.rows.keys()) if (!(k in obj)) this.remove(k);
      for (const k of Object.keys(obj)) this.upsert(k, obj[k]);
    } else {
      for (const k of keys) {
        if (k in obj) this.upsert(k, obj[k]); else this.remove(k);
      }
    }
    const none = this.rows.size === 0;
    if (none && !this.empty.parentNode) this.tbody.appendChild(this.empty);
    else if (!none && this.empty.parentNode) this.empty.remove();
  }
  remove(k) {
    const tr = this.rows.get(k);
    if (tr) { tr.remove(); this.rows.delete(k); }
  }
  upsert(k, item) {
    if (item === null || typeof item !== 'object' || (this.filter && !this.filter(k, item))) { this.remove(k); return; }
    let tr = this.rows.get(k);
    const sk = this.sortKey(k, item);
    if (!tr) {
      tr = document.createElement('tr');
      tr.setAttribute(this.rowAttr, k);
      for (let i = 0; i < this.cols.length; i++) tr.appendChild(document.createElement('td'));
      tr.__sk = sk;
      this.insertSorted(tr);
      this.rows.set(k, tr);
    } else if (cmpKeys(tr.__sk, sk) !== 0) {
      tr.__sk = sk;
      tr.remove();
      this.insertSorted(tr);
    }
    const tds = tr.children;
    for (let i = 0; i < this.cols.length; i++) cell(tds[i], this.cols[i](k, item));
    if (this.rowClass) setCls(tr, this.rowClass(k, item));
    if (this.extra) this.extra(tr, k, item);
  }
  insertSorted(tr) {
    let node = this.tbody.firstElementChild;
    while (node) {
      if (node.__sk && cmpKeys(tr.__sk, node.__sk) < 0) { this.tbody.insertBefore(tr, node); return; }
      node = node.nextElementSibling;
    }
    this.tbody.appendChild(tr);
  }
}

// A table over a bounded list, newest first: appends insert at the top, the oldest fall off.
class FeedTable {
  constructor(tbody, opts) {
    this.tbody = tbody;
    this.bound = opts.bound;
    this.build = opts.build;              // (item) => tr
    this.empty = emptyRow(tbody, opts.colspan, opts.emptyText || 'none');
    tbody.appendChild(this.empty);
  }
  rebuild(list) {
    list = Array.isArray(list) ? list : [];
    const frag = document.createDocumentFragment();
    const start = Math.max(0, list.length - this.bound);
    for (let i = list.length - 1; i >= start; i--) frag.appendChild(this.build(list[i], true));
    this.tbody.textContent = '';
    this.tbody.appendChild(list.length ? frag : this.empty);
  }
  append(list, n) {
    list = Array.isArray(list) ? list : [];
    if (this.empty.parentNode) this.empty.remove();
    n = Math.min(n, list.length, this.bound);
    const frag = document.createDocumentFragment();
    for (let i = list.length - 1; i >= list.length - n; i--) frag.appendChild(this.build(list[i], false));
    this.tbody.insertBefore(frag, this.tbody.firstChild);
    while (this.tbody.children.length > this.bound) this.tbody.lastElementChild.remove();
    if (!this.tbody.firstChild) this.tbody.appendChild(this.empty);
  }
}
function tr(cells, attrs, cls) {
  const row = document.createElement('tr');
  if (attrs) for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) row.setAttribute(k, attrs[k]);
  if (cls) row.className = cls;
  for (const spec of cells) {
    const td = document.createElement('td');
    cell(td, spec);
    row.appendChild(td);
  }
  return row;
}

// ------------------------------------------------------------------ dirty tracking
// dirty: part -> true (everything) | Set of keys; appends: list path -> count appended
const dirty = new Map();
const appends = new Map();
let frameRequested = false;

function mark(part, key) {
  const cur = dirty.get(part);
  if (cur === true) return;
  if (key === undefined || key === null) { dirty.set(part, true); return; }
  if (cur) cur.add(key); else dirty.set(part, new Set([key]));
}
function markAll() {
  for (const p of ['banner', 'services', 'bus', 'breakers', 'alerts', 'positions', 'money', 'equity',
    'working', 'fills', 'denials', 'market', 'prices', 'ranking', 'strategies', 'latency', 'settings'])
    mark(p);
  appends.clear();
}
function markList(listName, part, op) {
  if (op === 'append' && dirty.get(part) !== true) appends.set(listName, (appends.get(listName) || 0) + 1);
  else { mark(part); appends.delete(listName); }
}

function markPath(path, op, value, sym) {
  const [a, b, c] = path;
  if (path.length === 0) { markAll(); return; }
  switch (a) {
    case 'settings': mark('settings'); break;
    case 'generated_ns': break;
    case 'health':
      if (b === 'services') mark('services', path.length > 2 ? c : undefined);
      else if (b === 'bus' || b === 'metrics_errors') mark('bus');
      else if (b === 'breakers') mark('breakers');
      else if (b === 'trading_state' || b === 'trading_reason' || b === 'reconciled') mark('banner');
      else { mark('services'); mark('bus'); mark('breakers'); mark('banner'); }
      break;
    case 'alerts':
      if (path.length === 1) markList('alerts', 'alerts', op); else mark('alerts');
      break;
    case 'money':
      if (b === 'positions') { mark('positions', path.length > 2 ? c : undefined); mark('money'); mark('market', path.length > 2 ? c : undefined); }
      else if (b === 'equity' || b === 'realised_pnl') { mark('equity'); mark('money'); }
      else if (b === undefined) { mark('positions'); mark('money'); mark('equity'); mark('market'); }
      else mark('money');
      break;
    case 'orders':
      if (b === 'working') {
        // sym: the order's symbol (looked up before a delete); a symbol's row and chart only
        mark('working', path.length > 2 ? c : undefined);
        mark('strategies');  // their working-order counts
        mark('market', sym || undefined);
        mark('prices', sym || undefined);
      } else if (b === 'fills') {
        if (path.length === 2) markList('orders.fills', 'fills', op); else mark('fills');
        if (op === 'append' && value && value.symbol) mark('prices', value.symbol); else mark('prices');
      } else if (b === 'denials') {
        if (path.length === 2) markList('orders.denials', 'denials', op); else mark('denials');
      } else { mark('working'); mark('fills'); mark('denials'); mark('market'); mark('prices'); }
      break;
    case 'market':
      if (b === 'symbols') {
        if (path.length > 2) {
          const field = path[3];
          if (field === 'prices') mark('prices', c);
          else { mark('market', c); mark('touch', c); if (field === undefined) mark('prices', c); }
        } else { mark('market'); mark('touch'); mark('prices'); }
      } else if (b === 'ranking' || b === 'mm_selection') { mark('ranking'); mark('market'); }
      else { mark('market'); mark('touch'); mark('prices'); mark('ranking'); }
      break;
    case 'strategies': mark('strategies', path.length > 1 ? b : undefined); break;
    case 'latency': mark('latency'); break;
    default: break;
  }
}

function boundFor(path) {
  return LIST_BOUNDS[path[path.length - 1]] || DEFAULT_BOUND;
}

// apply one change to the view; returns false when the path is unusable
function applyChange(ch) {
  const path = Array.isArray(ch.path) ? ch.path : null;
  if (!path) return false;
  const op = ch.op;
  if (path.length === 0) {
    if (op === 'set' && ch.value && typeof ch.value === 'object') { state = ch.value; markAll(); return true; }
    return false;
  }
  // a working order's symbol, before a delete takes it away
  const orderSym = () => {
    if (path[0] !== 'orders' || path[1] !== 'working' || path.length < 3) return null;
    const o = state.orders && state.orders.working && state.orders.working[path[2]];
    return o && o.symbol ? o.symbol : null;
  };
  const symBefore = orderSym();
  let parent = state;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    let next = parent[k];
    if (next === null || typeof next !== 'object') {
      if (op === 'delete') return true;
      next = typeof path[i + 1] === 'number' ? [] : {};
      parent[k] = next;
    }
    parent = next;
  }
  const last = path[path.length - 1];
  if (op === 'set') {
    parent[last] = ch.value;
  } else if (op === 'append') {
    let list = parent[last];
    if (!Array.isArray(list)) { list = []; parent[last] = list; }
    list.push(ch.value);
    const bound = boundFor(path);
    if (list.length > bound) list.splice(0, list.length - bound);
  } else if (op === 'delete') {
    if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
    else delete parent[last];
  } else {
    return false;
  }
  const symAfter = orderSym();
  if (symBefore && symAfter && symBefore !== symAfter) { mark('market', symBefore); mark('prices', symBefore); }
  markPath(path, op, ch.value, symAfter || symBefore);
  return true;
}

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(onFrame);
}

function onFrame() {
  frameRequested = false;
  const t0 = performance.now();
  try {
    render();
  } catch (e) {
    console.error('dashboard render failed', e);
  }
  renderMs.push(performance.now() - t0);
  if (renderMs.length > 1000) renderMs.splice(0, renderMs.length - 1000);
  if (pendingLatencySent.length) {
    const now = Date.now();
    for (const sentMs of pendingLatencySent) eventToDomMs.push(now - sentMs);
    pendingLatencySent = [];
    if (eventToDomMs.length > LATENCY_KEEP) eventToDomMs.splice(0, eventToDomMs.length - LATENCY_KEEP);
  }
}

// ------------------------------------------------------------------ renderers
let tables = null;

function initTables() {
  tables = {
    services: new KeyedTable($('services-body'), {
      rowAttr: 'data-service', emptyText: 'no services reported',
      cols: [
        (k) => ({ t: k, c: 'name' }),
        (k, s) => ({ t: s.state || NA, c: 'st ' + svcStateClass(s) }),
        (k, s) => ({ t: s.bus_state || NA, c: busStateClass(s.bus_state), title: busStateTitle(s) }),
        (k, s) => ({ t: s.pid ? String(s.pid) : NA, c: 'r num' }),
        (k, s) => ({ t: fmtDuration(s.uptime_s), c: 'r num' }),
        (k, s) => ({ t: intf(s.restarts), c: 'r num' + (num(s.restarts) > 0 ? ' warn' : '') }),
        (k, s) => hbSpec(s.last_heartbeat_ns),
        (k, s) => {
          const t = svcDetail(s), badge = statusBadge(s.bus_status);
          return { t, c: 'detail' + (s.supervisor_error ? ' bad' : badge ? ' ' + badge.c : ''), title: t };
        },
      ],
      rowClass: (k, s) => (s.alive === false ? 'row-bad' : ''),
      extra: (row, k, s) => { row.children[HB_COL].__hb = s.last_heartbeat_ns; },
    }),
    positions: new KeyedTable($('positions-body'), {
      rowAttr: 'data-symbol', emptyText: 'flat: no positions',
      cols: [
        (k) => ({ t: k, c: 'name' }),
        (k, p) => ({ t: fmtQty(k, p.qty), c: 'r num ' + qtySideClass(p.qty) }),
        (k, p) => ({ t: fmtPrice(k, p.avg_entry_price), c: 'r num' }),
        (k, p) => ({ t: fmtPrice(k, p.mark_price), c: 'r num', title: 'mark: the mid the dashboard shows' }),
        (k, p) => ({ t: signed(p.unrealised_pnl, 2), c: 'r num ' + pnlClass(p.unrealised_pnl), title: upnlTitle(p) }),
        (k, p) => ({ t: signed(p.realised_pnl, 2), c: 'r num ' + pnlClass(p.realised_pnl) }),
      ],
    }),
    flatten: new KeyedTable($('flatten-body'), {
      rowAttr: 'data-symbol', emptyText: 'no open positions', extraCols: 1,
      filter: (k, p) => num(p.qty) !== 0,
      cols: [
        (k) => ({ t: k, c: 'name' }),
        (k, p) => ({ t: fmtQty(k, p.qty), c: 'r num ' + qtySideClass(p.qty) }),
        (k, p) => ({ t: fmtPrice(k, p.mark_price), c: 'r num' }),
        (k, p) => ({ t: signed(p.unrealised_pnl, 2), c: 'r num ' + pnlClass(p.unrealised_pnl), title: upnlTitle(p) }),
      ],
      extra: (row, k) => {
        if (row.__btn) return;
        const td = document.createElement('td');
        td.className = 'r';
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'flatten act-small warn';
        b.dataset.symbol = k;
        b.dataset.testid = 'flatten';
        b.textContent = 'Flatten ' + k;
        b.disabled = !controlsEnabled() || controlBusy;
        td.appendChild(b);
        row.appendChild(td);
        row.__btn = b;
      },
    }),
    working: new KeyedTable($('working-body'), {
      rowAttr: 'data-order-id', emptyText: 'no working orders',
      sortKey: (k, o) => [o.symbol || '', sideClass(o.side) === 'sell' ? 0 : 1, -(num(o.limit_price) || 0), k],
      cols: [
        (k, o) => ({ t: o.strategy_id || NA }),
        (k, o) => ({ t: o.symbol || NA, c: 'name' }),
        (k, o) => ({ t: o.side || NA, c: sideClass(o.side) }),
        (k, o) => ({ t: fmtPrice(o.symbol, o.limit_price), c: 'r num ' + sideClass(o.side) }),
        (k, o) => touchSpec(o, 'bid'),
        (k, o) => touchSpec(o, 'ask'),
        (k, o) => behindSpec(o),
        (k, o) => ({ t: fmtQty(o.symbol, o.queue_ahead_qty), c: 'r num' }),
        (k, o) => ({ t: fmtQty(o.symbol, o.qty), c: 'r num' }),
        (k, o) => ({ t: fmtQty(o.symbol, o.cum_filled_qty), c: 'r num' }),
        (k, o) => ({ t: o.order_type || NA }),
        (k, o) => ({ t: o.status || NA }),
        (k) => ({ t: shortId(k), c: 'mono', title: k }),
      ],
      extra: (row, k, o) => { if (row.dataset.symbol !== o.symbol) row.dataset.symbol = o.symbol || ''; },
    }),
    strategies: new KeyedTable($('strategies-body'), {
      rowAttr: 'data-strategy',  emptyText: 'no strategy status yet',
      cols: [
        (k) => ({ t: k, c: 'name' }),
        (k, s) => ({ t: s.state || NA, c: 'st ' + strategyStateClass(s.state) }),
        (k, s) => ({ t: s.symbol || NA }),
        (k, s) => ({ t: fmtQty(s.symbol, s.position_qty), c: 'r num ' + qtySideClass(s.position_qty) }),
        (k, s) => ({ t: signed(s.realised_pnl_usdt, 2), c: 'r num ' + pnlClass(s.realised_pnl_usdt) }),
        (k) => ({ t: String(workingCount(k)), c: 'r num' }),
        (k, s) => ({ t: s.reason || '', c: 'detail', title: s.reason || '' }),
        (k, s) => ({ t: fmtTime(s.ts_ns), c: 'r num muted' }),
      ],
    }),
    market: new KeyedTable($('market-body'), {
      rowAttr: 'data-symbol', emptyText: 'no symbols followed',
      cols: [
        (k) => ({ t: k, c: 'name' }),
        (k, m) => ({ t: m.feed_state || NA, c: feedStateClass(m.feed_state) }),
        (k, m) => ({ t: fmtQty(k, m.bid_qty), c: 'r num muted' }),
        (k, m) => ({ t: fmtPrice(k, m.bid), c: 'r num buy' }),
        (k, m) => ({ t: fmtPrice(k, m.ask), c: 'r num sell' }),
        (k, m) => ({ t: fmtQty(k, m.ask_qty), c: 'r num muted' }),
        (k, m) => ({ t: spreadBps(m), c: 'r num' }),
        (k, m) => ({ t: fmtPrice(k, m.last), c: 'r num' }),
        (k) => { const p = (state.money.positions || {})[k]; return p ? { t: fmtQty(k, p.qty), c: 'r num ' + qtySideClass(p.qty) } : { t: 'flat', c: 'r muted' }; },
        (k) => ({ t: String(ordersOf(k).length), c: 'r num' }),
        (k) => ({ t: (state.market.mm_selection || []).includes(k) ? 'selected' : '', c: 'sel' }),
      ],
    }),
    alerts: new FeedTable($('alerts-body'), {
      bound: LIST_BOUNDS.alerts, colspan: 3, emptyText: 'no alerts',
      build: (a, initial) => {
        const row = tr([
          { t: fmtTime(a.ts_ns), c: 'num muted top' },
          { t: a.severity || NA, c: 'sev top ' + sevClass(a.severity) },
          { t: '', c: 'alert-body' },
        ], { 'data-code': a.code, 'data-severity': a.severity, 'data-source': a.source }, 'sev-row-' + sevClass(a.severity));
        const body = row.lastChild;
        const code = document.createElement('span');
        code.className = 'mono alert-code';
        code.textContent = a.code || NA;
        const src = document.createElement('span');
        src.className = 'muted alert-src';
        src.textContent = a.source || NA;
        body.append(code, ' ', src);
        if (a.detail) {
          const det = document.createElement('div');
          det.className = 'alert-detail';
          det.textContent = a.detail;
          body.appendChild(det);
        }
        if (!initial) row.classList.add('fresh');
        return row;
      },
    }),
    fills: new FeedTable($('fills-body'), {
      bound: LIST_BOUNDS.fills, colspan: 10, emptyText: 'no fills this session',
      build: (f, initial) => {
        const row = tr([
          { t: fmtTime(f.ts_ns), c: 'num muted' },
          { t: f.symbol || NA, c: 'name' },
          { t: f.side || NA, c: sideClass(f.side) },
          { t: fmtQty(f.symbol, f.qty), c: 'r num' },
          { t: fmtPrice(f.symbol, f.price), c: 'r num' },
          { t: fixed(f.fee, 4), c: 'r num' },
          { t: f.is_maker === true ? 'maker' : f.is_maker === false ? 'taker' : NA, c: f.is_maker ? 'muted' : '' },
          { t: signed(f.slippage_bps, 2), c: 'r num ' + slipClass(f.slippage_bps) },
          { t: fixed(f.latency_ms, 1), c: 'r num' },
          { t: f.strategy_id || NA },
        ], {
          'data-exec-id': f.exec_id || `${f.client_order_id || ''}@${f.ts_ns}`,
          'data-symbol': f.symbol, 'data-order-id': f.client_order_id,
        });
        if (!initial) row.classList.add('fresh');
        return row;
      },
    }),
    denials: new FeedTable($('denials-body'), {
      bound: LIST_BOUNDS.denials, colspan: 5, emptyText: 'no denials or rejections',
      build: (d, initial) => {
        const row = tr([
          { t: fmtTime(d.ts_ns), c: 'num muted' },
          { t: d.kind || NA, c: d.kind === 'rejected' ? 'neg' : 'warn', title: d.command_kind ? 'command: ' + d.command_kind : '' },
          { t: d.strategy_id || NA },
          { t: d.reason || NA, c: 'reason', title: (d.command_kind ? d.command_kind + ': ' : '') + (d.reason || '') },
          { t: shortId(d.client_order_id), c: 'mono muted', title: d.client_order_id || '' },
        ], { 'data-kind': d.kind, 'data-order-id': d.client_order_id, 'data-command': d.command_kind });
        if (!initial) row.classList.add('fresh');
        return row;
      },
    }),
  };
}

const HB_COL = 6;  // the services table's heartbeat column
function upnlTitle(p) {
  return `qty × (mid − entry) at the mid; the venue's figure (at its mark price, as of the executor's last position update): ${signed(p.venue_unrealised_pnl, 4)}`;
}
function svcDetail(s) {
  const parts = [];
  // the service's own ServiceStatus when it is not RUNNING (DEGRADED, STARTING ...)
  const badge = statusBadge(s.bus_status);
  if (badge) parts.push(badge.t);
  if (s.detail) parts.push(s.detail);
  if (s.supervisor_error) parts.push('supervisord: ' + s.supervisor_error);
  return parts.join(' · ');
}
// bus_state: the service's liveness on the bus, the same for every service: "alive" /
// "silent N s" (null: never heard). Its own ServiceStatus (bus_status) is in the detail.
function busStateClass(st) {
  const s = String(st || '').toUpperCase();
  if (s === 'ALIVE') return 'good';
  if (s.startsWith('SILENT')) return 'bad';
  return s ? 'warn' : 'muted';
}
function busStateTitle(s) {
  const status = s.bus_status ? `; its last ServiceStatus: ${s.bus_status}` : '';
  return s.bus_state ? `heard on the bus (any frame, heartbeats when idle)${status}` : 'never heard on the bus';
}
function svcStateClass(s) {
  if (s.alive === false) return 'bad';
  const st = String(s.state || '').toUpperCase();
  if (st === 'RUNNING') return 'good';
  if (st === 'STARTING' || st === 'BACKOFF' || st === 'STOPPING') return 'warn';
  if (st === '') return 'muted';
  return 'bad';
}
function strategyStateClass(st) {
  const s = String(st || '').toUpperCase();
  if (!s) return 'muted';
  if (/HALT|STOP|FAIL|ERROR|DEAD/.test(s)) return 'bad';
  if (/SYNC|PAUS|DEGRAD|REDUC|WAIT/.test(s)) return 'warn';
  if (/QUOT|RUN|ACTIVE|OPEN|TRAD/.test(s)) return 'good';
  return '';
}
function feedStateClass(st) {
  const s = String(st || '').toUpperCase();
  if (!s) return 'muted';
  if (s === 'LIVE') return 'good';
  if (s === 'CONNECTED' || s === 'RESYNCING') return 'warn';
  return 'bad';  // STALE, CROSSED, DISCONNECTED
}
function sevClass(sev) {
  const s = String(sev || '').toLowerCase();
  if (/crit|fatal|error|emerg|page/.test(s)) return 'bad';
  if (/warn/.test(s)) return 'warn';
  return 'info';
}
function qtySideClass(q) { const n = num(q); return n === null || n === 0 ? '' : n > 0 ? 'buy' : 'sell'; }
function slipClass(b) { const n = num(b); return n === null ? '' : n > 0.5 ? 'neg' : n < -0.5 ? 'pos' : ''; }
function hbSpec(tsNs) {
  const age = ageSeconds(tsNs);
  const c = 'r num ' + (age === null ? 'muted' : age > 15 ? 'bad' : age > 5 ? 'warn' : '');
  return { t: age === null ? NA : fmtAge(tsNs), c };
}
function spreadBps(m) {
  const b = num(m.bid), a = num(m.ask);
  if (b === null || a === null || b <= 0 || a <= 0) return NA;
  return fixed(((a - b) / ((a + b) / 2)) * 1e4, 2);
}
function touchSpec(o, which) {
  const m = (state.market.symbols || {})[o.symbol];
  const v = m ? m[which] : null;
  return { t: fmtPrice(o.symbol, v), c: 'r num muted' };
}
function behindSpec(o) {
  const m = (state.market.symbols || {})[o.symbol];
  const p = num(o.limit_price);
  if (!m || p === null) return { t: NA, c: 'r num' };
  const side = sideClass(o.side);
  if (!side) return { t: NA, c: 'r num' };  // the side comes with the executor's next snapshot
  const buy = side === 'buy';
  const touch = num(buy ? m.bid : m.ask);
  if (touch === null || touch <= 0) return { t: NA, c: 'r num' };
  const bps = (buy ? touch - p : p - touch) / touch * 1e4;
  return { t: fixed(bps, 2), c: 'r num ' + (bps < -0.001 ? 'warn' : bps < 0.001 ? 'good' : '') };
}
function workingCount(strategyId) {
  const w = state.orders.working || {};
  let n = 0;
  for (const k in w) if (w[k] && w[k].strategy_id === strategyId) n++;
  return n;
}
function ordersOf(sym) {
  const out = [];
  const w = state.orders.working || {};
  for (const k in w) if (w[k] && w[k].symbol === sym) out.push(w[k]);
  return out;
}

function learnFromState() {
  const syms = state.market.symbols || {};
  for (const s in syms) { learn(priceDp, s, syms[s].bid); learn(priceDp, s, syms[s].ask); learn(priceDp, s, syms[s].last); }
  const w = state.orders.working || {};
  for (const k in w) { const o = w[k]; if (o) { learn(priceDp, o.symbol, o.limit_price); learn(qtyDp, o.symbol, o.qty); } }
  const pos = state.money.positions || {};
  for (const k in pos) if (pos[k]) learn(qtyDp, k, pos[k].qty);
  const st = state.strategies || {};
  for (const k in st) if (st[k]) learn(qtyDp, st[k].symbol, st[k].position_qty);
}
function learnFromFills(list, from) {
  for (let i = from; i < list.length; i++) {
    const f = list[i];
    if (f) { learn(priceDp, f.symbol, f.price); learn(qtyDp, f.symbol, f.qty); }
  }
}

function render() {
  if (!tables) return;
  if (dirty.size === 0 && appends.size === 0) return;
  normalise();
  learnFromState();
  const d = new Map(dirty);
  const ap = new Map(appends);
  dirty.clear();
  appends.clear();

  if (d.has('settings')) renderSettings();
  if (d.has('banner')) { renderBanner(); renderHaltLabel(); }
  if (d.has('services')) tables.services.update(state.health.services, d.get('services'));
  if (d.has('bus')) renderBus();
  if (d.has('breakers')) renderBreakers();

  if (d.has('alerts')) tables.alerts.rebuild(state.alerts);
  else if (ap.has('alerts')) tables.alerts.append(state.alerts, ap.get('alerts'));
  if (d.has('alerts') || ap.has('alerts')) renderAlertCount();

  if (d.has('positions')) {
    tables.positions.update(state.money.positions, d.get('positions'));
    tables.flatten.update(state.money.positions, d.get('positions'));
    renderPositionTotals();
  } else if (d.has('money')) renderPositionTotals();  // the total at the mid
  if (d.has('money') || d.has('positions')) renderMoney();
  if (d.has('equity')) chartDirty('equity');

  if (d.has('working')) tables.working.update(state.orders.working, d.get('working'));
  if (d.has('touch') && !d.has('working')) {
    // a quote moved: refresh the touch cells of that symbol's orders only
    const syms = d.get('touch');
    const w = state.orders.working || {};
    const keys = [];
    for (const k in w) if (w[k] && (syms === true || syms.has(w[k].symbol))) keys.push(k);
    if (keys.length) tables.working.update(w, keys);
  }
  if (d.has('fills')) learnFromFills(state.orders.fills, 0);
  else if (ap.has('orders.fills')) learnFromFills(state.orders.fills, Math.max(0, state.orders.fills.length - ap.get('orders.fills')));
  if (d.has('fills')) tables.fills.rebuild(state.orders.fills);
  else if (ap.has('orders.fills')) tables.fills.append(state.orders.fills, ap.get('orders.fills'));
  if (d.has('denials')) tables.denials.rebuild(state.orders.denials);
  else if (ap.has('orders.denials')) tables.denials.append(state.orders.denials, ap.get('orders.denials'));

  if (d.has('market')) tables.market.update(state.market.symbols, d.get('market'));
  if (d.has('ranking')) renderRanking();
  if (d.has('prices') || d.has('market')) {
    const p = d.get('prices');
    if (p === true || d.get('market') === true) chartDirty('prices');
    else if (p) for (const s of p) chartDirty('prices', s);
  }
  if (d.has('strategies')) tables.strategies.update(state.strategies, d.get('strategies'));
  if (d.has('latency')) { renderLatency(); chartDirty('latency'); }
}

// fill in the parts a partial document may lack, so renderers can index freely
function normalise() {
  const s = state;
  s.settings = s.settings || {};
  s.health = s.health || {};
  s.health.services = s.health.services || {};
  s.health.bus = s.health.bus || {};
  s.health.breakers = s.health.breakers || {};
  if (!Array.isArray(s.alerts)) s.alerts = [];
  s.money = s.money || {};
  s.money.positions = s.money.positions || {};
  if (!Array.isArray(s.money.equity)) s.money.equity = [];
  if (!Array.isArray(s.money.realised_pnl)) s.money.realised_pnl = [];
  s.orders = s.orders || {};
  s.orders.working = s.orders.working || {};
  if (!Array.isArray(s.orders.fills)) s.orders.fills = [];
  if (!Array.isArray(s.orders.denials)) s.orders.denials = [];
  s.market = s.market || {};
  s.market.symbols = s.market.symbols || {};
  if (!Array.isArray(s.market.ranking)) s.market.ranking = [];
  if (!Array.isArray(s.market.mm_selection)) s.market.mm_selection = [];
  s.strategies = s.strategies || {};
  s.latency = s.latency || {};
}

function controlsEnabled() { return state.settings && state.settings.controls_enabled === true; }

function renderSettings() {
  const mode = state.settings.mode;
  const m = $('mode');
  setText(m, mode ? String(mode).toUpperCase() : 'mode n/a');
  setCls(m, 'badge ' + (mode === 'live' ? 'mode-live' : mode ? 'mode-paper' : ''));
  m.title = state.settings.run_dir ? 'run dir: ' + state.settings.run_dir : '';
  document.title = `${mode ? mode.toUpperCase() + ' · ' : ''}Trading dashboard`;
  $('readonly-notice').classList.toggle('hidden', controlsEnabled());
  updateControlButtons();
}

function renderBanner() {
  const h = state.health;
  const st = h.trading_state;
  const known = st === 'ACTIVE' || st === 'REDUCING' || st === 'HALTED';
  setText($('trading-state'), st ? String(st) : NA);
  setText($('trading-reason'), h.trading_reason ? String(h.trading_reason) : '');
  const banner = $('state-banner');
  setCls(banner, 'banner ' + (known ? 'state-' + st.toLowerCase() : 'state-unknown'));
  banner.dataset.state = st || 'unknown';
  const rec = $('reconciled');
  if (h.reconciled === false) { setText(rec, 'NOT RECONCILED'); rec.className = 'badge bad'; }
  else if (h.reconciled === null || h.reconciled === undefined) { setText(rec, 'reconciled n/a'); rec.className = 'badge muted'; }
  else { setText(rec, 'reconciled'); rec.className = 'badge good'; }
}

function countMap(obj) {
  let n = 0;
  for (const k in obj || {}) n += num(obj[k]) || 0;
  return n;
}
function renderBus() {
  const bus = state.health.bus || {};
  const el = $('bus');
  const parts = [['dropped', bus.dropped, 'reason'], ['gaps', bus.gaps, 'sender'], ['lost', bus.lost, 'sender']];
  const frag = document.createDocumentFragment();
  for (const [name, obj, what] of parts) {
    const row = document.createElement('div');
    row.className = 'busrow';
    row.dataset.kind = name;
    const known = obj && typeof obj === 'object';
    const total = known ? countMap(obj) : null;
    const head = document.createElement('span');
    head.className = 'bus-total ' + busTotalClass(name, known ? obj : null);
    head.textContent = `${name} ${total === null ? NA : intf(total)}`;
    row.appendChild(head);
    if (known) {
      for (const k of Object.keys(obj).sort()) {
        if (!num(obj[k])) continue;
        const s = document.createElement('span');
        s.className = dropChipClass(name, k);
        s.title = name === 'dropped' && k === 'superseded' ? 'superseded: a newer message of the same key replaced it (by design)' : what;
        s.textContent = `${k}: ${intf(obj[k])}`;
        row.appendChild(s);
      }
    }
    frag.appendChild(row);
  }
  const errs = state.health.metrics_errors || {};
  const names = Object.keys(errs).sort();
  if (names.length) {
    const row = document.createElement('div');
    row.className = 'busrow';
    row.dataset.kind = 'metrics_errors';
    const head = document.createElement('span');
    head.className = 'bus-total warn';
    head.textContent = 'metrics n/a';
    head.title = 'Prometheus scrapes that failed: these services\' figures are stale';
    row.appendChild(head);
    for (const n of names) {
      const s = document.createElement('span');
      s.className = 'chip warn';
      s.title = String(errs[n]);
      s.textContent = n;
      row.appendChild(s);
    }
    frag.appendChild(row);
  }
  el.textContent = '';
  el.appendChild(frag);
}
function renderBreakers() {
  const b = state.health.breakers || {};
  const el = $('breakers');
  el.textContent = '';
  const names = Object.keys(b).sort();
  if (!names.length) { el.innerHTML = '<span class="muted">none reported</span>'; return; }
  for (const n of names) {
    const st = b[n] && b[n].state;
    const s = document.createElement('span');
    s.className = 'chip breaker ' + (st === 'closed' ? 'good' : st === 'open' ? 'bad' : st === 'half_open' ? 'warn' : 'muted');
    s.dataset.breaker = n;
    s.textContent = `${n}: ${st || NA}`;
    el.appendChild(s);
  }
}
// the header counts the last 15 minutes' alerts (the list itself keeps the newest 200)
const ALERT_WINDOW_NS = 15 * 60 * 1e9;
function renderAlertCount() {
  const a = state.alerts || [];
  const since = Date.now() * 1e6 - ALERT_WINDOW_NS;
  let n = 0, bad = 0;
  for (let i = a.length - 1; i >= 0; i--) {
    const t = num(a[i].ts_ns);
    if (t !== null && t < since) break;
    n++;
    if (sevClass(a[i].severity) === 'bad') bad++;
  }
  const el = $('top-alerts');
  const more = n === a.length && a.length >= LIST_BOUNDS.alerts ? '+' : '';  // the list is full
  setText(el, `${n}${more}${bad ? ` (${bad}${more} critical)` : ''}`);
  setCls(el, 'num ' + (bad ? 'bad' : n ? 'warn' : ''));
}
function lastPoint(series) {
  return Array.isArray(series) && series.length ? series[series.length - 1][1] : null;
}
// the server's total at the mid: "0" when flat, null while a position has no mid yet
function unrealisedTotal() { return num(state.money.unrealised_pnl_usdt); }
function renderPositionTotals() {
  const p = state.money.positions;
  let r = 0, rAny = false;
  for (const k in p) { const n = num(p[k].realised_pnl); if (n !== null) { r += n; rAny = true; } }
  const u = unrealisedTotal();
  const ue = $('positions-upnl-total'), re = $('positions-rpnl-total');
  ue.title = u === null ? 'n/a: a position has no mid yet' : 'at the mid';
  ue.closest('tfoot').classList.toggle('hidden', Object.keys(p).length === 0);
  setText(ue, signed(u, 2)); setCls(ue, 'r num ' + pnlClass(u));
  setText(re, rAny ? signed(r, 2) : NA); setCls(re, 'r num ' + (rAny ? pnlClass(r) : ''));
}
function renderMoney() {
  const m = state.money;
  const bal = m.balance || null;
  const equity = bal ? bal.equity : lastPoint(m.equity);
  setText($('m-equity'), usdt(equity));
  setText($('m-wallet'), usdt(bal ? bal.wallet : null));
  setText($('m-available'), usdt(bal ? bal.available : null));
  const rp = lastPoint(m.realised_pnl);
  const re = $('m-realised'); setText(re, signed(rp, 2)); setCls(re, 'r num ' + pnlClass(rp));
  const u = unrealisedTotal();
  const ue = $('m-unrealised'); setText(ue, signed(u, 2)); setCls(ue, 'r num ' + pnlClass(u));
  ue.title = u === null ? 'n/a: a position has no mid yet' : 'positions marked at the mid';
  setText($('m-fees'), fixed(m.fees_usdt, 4));
  setText($('top-equity'), usdt(equity));
  const tu = $('top-upnl'); setText(tu, signed(u, 2)); setCls(tu, 'num ' + pnlClass(u));

  const loss = num(m.daily_loss_usdt), limit = num(m.daily_loss_limit_usdt);
  const text = `${loss === null ? NA : usdt(loss)} / ${limit === null ? 'limit n/a' : usdt(limit)}`;
  let frac = null;
  if (loss !== null && limit !== null && limit > 0) frac = Math.max(0, loss) / limit;
  const cls = frac === null ? 'muted' : frac >= 0.8 ? 'bad' : frac >= 0.5 ? 'warn' : 'good';
  const pct = frac === null ? '' : ` (${(frac * 100).toFixed(0)} %)`;
  const dl = $('daily-loss-text'); setText(dl, text + pct); setCls(dl, 'num ' + cls);
  const tl = $('top-daily-loss'); setText(tl, text + pct); setCls(tl, 'num ' + cls);
  const fill = $('daily-loss-fill');
  const w = frac === null ? '0%' : Math.min(100, frac * 100).toFixed(1) + '%';
  if (fill.style.width !== w) fill.style.width = w;
  setCls(fill, 'loss-fill ' + cls);
}
function renderRanking() {
  const body = $('ranking-body');
  const sel = new Set(state.market.mm_selection || []);
  body.textContent = '';
  const r = state.market.ranking || [];
  if (!r.length) body.appendChild(emptyRow(body, 5, 'no ranking yet'));
  let top = 0;
  for (const x of r) { const n = num(x.score); if (n !== null) top = Math.max(top, Math.abs(n)); }
  const scoreDp = top >= 1000 ? 0 : top >= 10 ? 2 : 4;
  renderRankingAge();
  r.forEach((x, i) => body.appendChild(tr([
    { t: String(i + 1), c: 'r num muted' },
    { t: x.symbol || NA, c: 'name' },
    { t: fixed(x.score, scoreDp), c: 'r num' },
    { t: fmtPrice(x.symbol, x.last_price), c: 'r num' },
    { t: sel.has(x.symbol) ? 'selected' : '', c: 'sel' },
  ], { 'data-symbol': x.symbol }, sel.has(x.symbol) ? 'row-sel' : '')));
  const chips = $('mm-selection');
  chips.textContent = '';
  if (!sel.size) { chips.innerHTML = '<span class="muted">none selected</span>'; return; }
  for (const s of state.market.mm_selection) {
    const c = document.createElement('span');
    c.className = 'chip good';
    c.dataset.symbol = s;
    c.textContent = s;
    chips.appendChild(c);
  }
}
// the ranking's prices are the scan's: its time and age in the header (ticks every second)
function renderRankingAge() {
  const el = $('ranking-age');
  const ts = num(state.market.ranking_ts_ns);
  if (ts === null || ts <= 0) { setText(el, (state.market.ranking || []).length ? '(scan time n/a)' : ''); return; }
  const age = (Date.now() - ts / 1e6) / 1000;
  setText(el, `(scan at ${fmtTime(ts).slice(0, 8)} UTC, ${fmtAgeS(age)} ago; last price as of the scan)`);
}
function renderLatency() {
  const L = state.latency || {};
  const t = L.tick_to_order_ms || {}, o = L.order_to_ack_ms || {};
  setText($('t2o-p50'), fixed(t.p50, 2)); setText($('t2o-p90'), fixed(t.p90, 2)); setText($('t2o-p99'), fixed(t.p99, 2));
  setText($('o2a-p50'), fixed(o.p50, 2)); setText($('o2a-p90'), fixed(o.p90, 2)); setText($('o2a-p99'), fixed(o.p99, 2));
  const body = $('stages-body');
  const st = L.mm_stages_us || {};
  const names = Object.keys(st);
  body.textContent = '';
  if (!names.length) { body.appendChild(emptyRow(body, 3, 'no market maker stages reported')); return; }
  for (const n of names) body.appendChild(tr([
    { t: n, c: 'name' },
    { t: fixed(st[n] && st[n].p50, 1), c: 'r num' },
    { t: fixed(st[n] && st[n].p99, 1), c: 'r num' },
  ], { 'data-stage': n }));
}

// heartbeats and the header's age line tick once a second (only those cells)
function tick() {
  if (tables) {
    for (const row of tables.services.rows.values()) {
      const td = row.children[HB_COL];
      if (td) cell(td, hbSpec(td.__hb));
    }
  }
  renderAlertCount();
  renderRankingAge();
  const lu = $('last-update');
  if (lastMessageMs) setText(lu, `last message ${((Date.now() - lastMessageMs) / 1000).toFixed(0)} s ago · seq ${seq ?? NA}`);
  if (disconnectedSinceMs !== null) {
    setText($('stale-notice'), `disconnected: figures frozen since ${fmtDateTime(disconnectedSinceMs).slice(11)} UTC`);
  }
  // an open socket that has said nothing for a while: the server's 2 s polls stopped
  if (connected) {
    const quiet = lastMessageMs ? (Date.now() - lastMessageMs) / 1000 : 0;
    const el = $('connection');
    const silent = quiet > SILENT_AFTER_S;
    setText(el, silent ? `live · silent ${quiet.toFixed(0)} s` : 'live');
    el.classList.toggle('silent', silent);
  }
}

// ------------------------------------------------------------------ charts (uPlot)
const charts = {};            // name -> uPlot
const priceCharts = new Map(); // symbol -> {u, box}
const chartsDirty = new Set(); // 'equity' | 'latency' | 'prices:<sym>' | 'prices:*'
let chartTimer = null;
let lastChartFlush = 0;

function chartDirty(kind, sym) {
  chartsDirty.add(sym ? `${kind}:${sym}` : kind === 'prices' ? 'prices:*' : kind);
  scheduleCharts();
}
function scheduleCharts() {
  if (chartTimer !== null) return;
  const wait = Math.max(0, CHART_MIN_INTERVAL_MS - (performance.now() - lastChartFlush));
  chartTimer = setTimeout(() => { chartTimer = null; requestAnimationFrame(flushCharts); }, wait);
}
function visible(panel) { return activeTab === panel && !document.hidden; }

function axis(extra) {
  return Object.assign({
    stroke: COLORS.axis,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
    font: '11px system-ui, sans-serif',
  }, extra || {});
}
const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
// x axis labels in 24 h UTC: seconds shown when the ticks are under a minute apart
function timeValues(u, splits, axisIdx, space, incr) {
  return splits.map((v) => {
    if (v === null || v === undefined) return '';
    const d = new Date(v * 1000);
    const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
    if (incr >= 86400) return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    return incr < 60 ? `${hm}:${pad2(d.getUTCSeconds())}` : hm;
  });
}
const timeAxis = () => axis({ values: timeValues, space: 60 });
// a y axis as wide as its longest label (uPlot's fixed size clips "100,000.40")
function fitSize(u, values, axisIdx, cycleNum) {
  const ax = u.axes[axisIdx];
  if (cycleNum > 1) return ax._size;
  let longest = '';
  for (const v of values || []) if (v && v.length > longest.length) longest = v;
  let size = (ax.ticks.size || 0) + (ax.gap || 0) + 6;
  if (longest) {
    u.ctx.font = ax.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

function chartWidth(el) { return Math.max(200, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600)); }

function flushCharts() {
  lastChartFlush = performance.now();
  if (typeof uPlot === 'undefined') return;
  const left = new Set();
  for (const key of chartsDirty) {
    if (key === 'equity') { if (visible('overview')) drawEquity(); else left.add(key); }
    else if (key === 'latency') { if (visible('latency')) drawLatency(); else left.add(key); }
    else if (key.startsWith('prices:')) {
      if (!visible('market')) { left.add(key); continue; }
      const sym = key.slice(7);
      if (sym === '*') syncPriceCharts();
      else drawPrice(sym);
    }
  }
  chartsDirty.clear();
  for (const k of left) chartsDirty.add(k);
}

function seriesXY(series, col = 1) {
  const xs = [], ys = [];
  if (!Array.isArray(series)) return [xs, ys];
  for (const p of series) {
    if (!Array.isArray(p)) continue;
    const x = num(p[0]);
    if (x === null) continue;
    xs.push(x / 1e9);
    ys.push(num(p[col]));
  }
  return [xs, ys];
}
// merge several (xs, ys) on one sorted x axis; a missing value is null
function joinXY(parts) {
  const all = [];
  parts.forEach(([xs, ys], j) => { for (let i = 0; i < xs.length; i++) all.push([xs[i], j, ys[i]]); });
  all.sort((a, b) => a[0] - b[0]);
  const X = [], cols = parts.map(() => []);
  let lastX = null;
  for (const [x, j, y] of all) {
    if (x !== lastX) { X.push(x); for (const c of cols) c.push(null); lastX = x; }
    cols[j][X.length - 1] = y;
  }
  return [X, ...cols];
}

function ensureChart(name, el, makeOpts, data) {
  let u = charts[name];
  if (!u) {
    el.textContent = '';
    u = new uPlot(makeOpts(chartWidth(el)), data, el);
    charts[name] = u;
    observe(el, u);
  } else {
    u.setData(data);
  }
  return u;
}
const resizeObserver = typeof ResizeObserver !== 'undefined' ? new ResizeObserver((entries) => {
  for (const e of entries) {
    const u = e.target.__uplot;
    if (!u) continue;
    const w = chartWidth(e.target);
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
  }
}) : null;
function observe(el, u) { el.__uplot = u; if (resizeObserver) resizeObserver.observe(el); }

function drawEquity() {
  const el = $('chart-equity');
  const m = state.money;
  const eq = seriesXY(m.equity), rp = seriesXY(m.realised_pnl);
  const data = joinXY([eq, rp]);
  ensureChart('equity', el, (w) => ({
    width: w, height: 200, tzDate: utc,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, eq: { auto: true }, pnl: { auto: true } },
    series: [
      { value: (u, v) => v === null ? '—' : fmtDateTime(v * 1000).slice(11) },
      { label: 'equity', scale: 'eq', stroke: COLORS.blue, width: 1.5, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? '—' : usdt(v) },
      { label: 'realised PnL', scale: 'pnl', stroke: COLORS.purple, width: 1.5, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? '—' : signed(v, 2) },
    ],
    axes: [timeAxis(), axis({ scale: 'eq', size: fitSize, values: (u, vals) => vals.map((v) => nf(2).format(v)) }),
      axis({ scale: 'pnl', side: 1, size: fitSize, grid: { show: false }, values: (u, vals) => vals.map((v) => nf(2).format(v)) })],
  }), data);
}

function latOpts(w) {
  return {
    width: w, height: 240, tzDate: utc,
    cursor: { drag: { x: false, y: false } },
    // log scale: a p99 of a second beside a p50 of a millisecond keeps both readable
    scales: { x: { time: true }, y: { distr: 3, log: 10 } },
    series: [
      { value: (u, v) => v === null ? '—' : fmtDateTime(v * 1000).slice(11) },
      { label: 'p50', stroke: COLORS.green, width: 1.5, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? '—' : fixed(v, 2) },
      { label: 'p99', stroke: COLORS.red, width: 1.5, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? '—' : fixed(v, 2) },
    ],
    axes: [timeAxis(), axis({ size: fitSize, values: (u, vals) => vals.map((v) => (v === null ? '' : v >= 1 ? nf(0).format(v) : String(+v.toPrecision(2)))) })],
  };
}
function positive(v) { const n = num(v); return n !== null && n > 0 ? n : null; }
function latData(series) {
  const X = [], a = [], b = [];
  if (Array.isArray(series)) for (const p of series) {
    if (!Array.isArray(p) || num(p[0]) === null) continue;
    X.push(num(p[0]) / 1e9); a.push(positive(p[1])); b.push(positive(p[2]));
  }
  return [X, a, b];
}
function drawLatency() {
  const L = state.latency || {};
  ensureChart('t2o', $('chart-t2o'), latOpts, latData((L.tick_to_order_ms || {}).series));
  ensureChart('o2a', $('chart-o2a'), latOpts, latData((L.order_to_ack_ms || {}).series));
}

// one chart per followed symbol; the ones we hold, quote or filled in come first
function chartSymbols() {
  const syms = Object.keys(state.market.symbols || {});
  const pos = state.money.positions || {};
  const w = state.orders.working || {};
  const active = new Set();
  for (const k in pos) if (num(pos[k].qty)) active.add(k);
  for (const k in w) if (w[k]) active.add(w[k].symbol);
  return syms.sort((a, b) => (active.has(b) - active.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
}
function syncPriceCharts() {
  const host = $('price-charts');
  const want = chartSymbols();
  for (const [s, c] of priceCharts) {
    if (!want.includes(s)) { c.u.destroy(); if (resizeObserver) resizeObserver.unobserve(c.el); c.box.remove(); priceCharts.delete(s); }
  }
  want.forEach((s) => { if (!priceCharts.has(s)) makePriceBox(s); drawPrice(s); });
  // keep the DOM order the wanted order
  want.forEach((s) => { const box = priceCharts.get(s).box; if (host.lastElementChild !== box) host.appendChild(box); });
  if (!want.length && !host.firstChild) host.innerHTML = '<div class="card muted">no symbols followed yet</div>';
  else if (want.length) for (const n of [...host.children]) if (!n.__sym) n.remove();
}
function makePriceBox(sym) {
  const host = $('price-charts');
  const box = document.createElement('div');
  box.className = 'card chart-card';
  box.__sym = sym;
  box.dataset.symbol = sym;
  const h = document.createElement('h2');
  h.textContent = sym;
  const info = document.createElement('span');
  info.className = 'muted small chart-info';
  h.appendChild(info);
  const el = document.createElement('div');
  el.className = 'chart';
  box.appendChild(h);
  box.appendChild(el);
  host.appendChild(box);
  const opts = {
    width: chartWidth(el), height: 220, tzDate: utc,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: true },
      y: {
        range: (u, min, max) => {
          let lo = min, hi = max;
          for (const o of ordersOf(sym)) {
            const p = num(o.limit_price);
            if (p === null) continue;
            lo = lo === null ? p : Math.min(lo, p); hi = hi === null ? p : Math.max(hi, p);
          }
          if (lo === null || hi === null) return [0, 1];
          const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.0005 || 1;
          return [lo - pad, hi + pad];
        },
      },
    },
    series: [
      {},
      { label: 'mid', stroke: COLORS.text, width: 1, spanGaps: true, points: { show: false } },
      { label: 'buy fills', stroke: COLORS.green, fill: COLORS.green, paths: () => null, points: { show: true, size: 7, width: 1, stroke: COLORS.green, fill: COLORS.green } },
      { label: 'sell fills', stroke: COLORS.red, fill: COLORS.red, paths: () => null, points: { show: true, size: 7, width: 1, stroke: COLORS.red, fill: COLORS.red } },
    ],
    axes: [timeAxis(), axis({ size: fitSize, values: (u, vals) => vals.map((v) => fmtPrice(sym, v)) })],
    hooks: { draw: [(u) => drawOrderLines(u, sym)] },
  };
  const u = new uPlot(opts, [[], [], [], []], el);
  observe(el, u);
  priceCharts.set(sym, { u, box, el, info });
}
function drawOrderLines(u, sym) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.font = `${Math.round(10 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  const lines = [];
  for (const o of ordersOf(sym)) {
    const p = num(o.limit_price);
    if (p === null) continue;
    const y = Math.round(u.valToPos(p, 'y', true)) + 0.5;
    if (y < top || y > top + height) continue;
    const side = sideClass(o.side);
    const col = side === 'buy' ? COLORS.green : side === 'sell' ? COLORS.red : COLORS.axis;
    lines.push({ y, col, text: `${o.side || 'side n/a'} ${fmtQty(sym, o.qty)} @ ${fmtPrice(sym, p)}`, more: 0 });
    ctx.strokeStyle = col;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
  }
  // labels top to bottom; one that would overlap the last placed label is counted on it instead
  lines.sort((a, b) => a.y - b.y);
  const lh = 12 * devicePixelRatio;
  const placed = [];
  for (const l of lines) {
    const prev = placed[placed.length - 1];
    if (prev && l.y - prev.y < lh) prev.more += 1; else placed.push(l);
  }
  for (const l of placed) {
    const text = l.more ? `${l.text} (+${l.more})` : l.text;
    const w = ctx.measureText(text).width;
    ctx.fillStyle = 'rgba(13,17,23,0.85)';
    ctx.fillRect(left + width - w - 8, l.y - lh + 1, w + 6, lh - 1);
    ctx.fillStyle = l.col;
    ctx.fillText(text, left + width - 4, l.y - 1);
  }
  ctx.restore();
}
let priceWindowS = 300;  // the Market charts' span: the last 5 minutes unless chosen otherwise
function drawPrice(sym) {
  const c = priceCharts.get(sym);
  if (!c) { syncPriceCharts(); return; }
  const m = (state.market.symbols || {})[sym] || {};
  let mid = seriesXY(m.prices);  // one mid a second (the table above has the live touch)
  if (priceWindowS > 0 && mid[0].length) {
    const from = mid[0][mid[0].length - 1] - priceWindowS;
    let i = 0;
    while (i < mid[0].length && mid[0][i] < from) i++;
    mid = [mid[0].slice(i), mid[1].slice(i)];
  }
  const first = mid[0].length ? mid[0][0] : -Infinity;
  const bx = [], by = [], sx = [], sy = [];
  for (const f of state.orders.fills || []) {
    if (f.symbol !== sym) continue;
    const x = num(f.ts_ns) / 1e9;
    if (!(x >= first)) continue;
    if (sideClass(f.side) === 'buy') { bx.push(x); by.push(num(f.price)); } else { sx.push(x); sy.push(num(f.price)); }
  }
  c.u.setData(joinXY([mid, [bx, by], [sx, sy]]));
  const n = ordersOf(sym).length;
  c.info.textContent = `  ${n} working order${n === 1 ? '' : 's'} · ${bx.length + sx.length} fill${bx.length + sx.length === 1 ? '' : 's'} shown`;
}

// ------------------------------------------------------------------ tabs
let activeTab = 'overview';
function showTab(name) {
  if (!TABS.includes(name)) name = 'overview';
  activeTab = name;
  for (const b of document.querySelectorAll('[data-tab]')) {
    const on = b.dataset.tab === name;
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    b.classList.toggle('active', on);
  }
  for (const p of document.querySelectorAll('[data-panel]')) p.classList.toggle('hidden', p.dataset.panel !== name);
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  if (name === 'overview') chartDirty('equity');
  if (name === 'latency') chartDirty('latency');
  if (name === 'market') chartDirty('prices');
  if (name === 'research' && !reportsLoaded) loadReports();
  // charts created while hidden have a stale width
  requestAnimationFrame(() => {
    for (const el of document.querySelectorAll(`#panel-${name} .chart`)) {
      const u = el.__uplot;
      if (u) { const w = chartWidth(el); if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height }); }
    }
  });
}

// ------------------------------------------------------------------ research
let reportsLoaded = false;
async function loadReports() {
  reportsLoaded = true;
  const status = $('reports-status');
  setText(status, 'loading…');
  let list;
  try {
    const r = await fetch('/api/reports', { cache: 'no-store' });
    if (!r.ok) { setText(status, `failed: HTTP ${r.status}`); return; }
    list = await r.json();
  } catch (e) {
    setText(status, 'failed: ' + e.message);
    return;
  }
  let root = '';
  if (list && !Array.isArray(list)) { root = list.root || ''; list = list.reports || list.items || []; }
  const body = $('reports-body');
  body.textContent = '';
  if (!list.length) body.appendChild(emptyRow(body, 4, 'no reports on disk'));
  for (const it of list) {
    const r = typeof it === 'string' ? { name: it } : it || {};
    const name = r.name || r.path || r.file;
    if (!name) continue;
    const row = tr([
      '',
      { t: r.kind || r.type || guessKind(name) },
      { t: fmtBytes(r.bytes ?? r.size ?? r.size_bytes), c: 'r num' },
      { t: fmtDateTime(toMs(r.mtime ?? r.mtime_ns ?? r.modified ?? r.modified_ns ?? r.ts_ns)), c: 'r num muted' },
    ], { 'data-report': name });
    const a = document.createElement('a');
    a.href = '/reports/' + String(name).split('/').map(encodeURIComponent).join('/');
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = name;
    row.firstChild.appendChild(a);
    body.appendChild(row);
  }
  setText(status, `${list.length} report${list.length === 1 ? '' : 's'}${root ? ' in ' + root : ''} · loaded ${fmtDateTime(Date.now()).slice(11)} UTC`);
}
function guessKind(name) {
  const n = String(name).toLowerCase();
  const kind = n.includes('sweep') ? 'sweep' : n.includes('backtest') ? 'backtest' : 'report';
  const ext = n.endsWith('.html') ? 'html' : n.endsWith('.json') ? 'json' : '';
  return ext ? `${kind} (${ext})` : kind;
}
function toMs(v) {
  if (typeof v === 'string' && !/^[0-9.]+$/.test(v)) { const t = Date.parse(v); return Number.isFinite(t) ? t : null; }
  const n = num(v);
  if (n === null) return null;
  if (n > 1e17) return n / 1e6;  // ns
  if (n > 1e14) return n / 1e3;  // us
  if (n > 1e11) return n;        // ms
  return n * 1000;               // s
}

// ------------------------------------------------------------------ controls
let token = '';
let controlBusy = false;
const ACTIONS = {
  'halt': { title: 'HALT', text: 'Cancel every working order, flatten every position and halt trading. New orders are refused until you resume.', path: 'halt' },
  'resume': { title: 'Resume', text: 'Set the trading state back to ACTIVE: the strategies may send orders again.', path: 'resume' },
  'cancel-all': { title: 'Cancel all', text: 'Cancel every working order of every strategy. Positions stay open.', path: 'cancel-all' },
};

// HALT stays enabled while HALTED: a halt is idempotent and flattens whatever is left again;
// its label says so
function renderHaltLabel() {
  const halted = state.health.trading_state === 'HALTED';
  const b = $('halt');
  setText(b.querySelector('small'), halted ? 'already HALTED: flattens again' : 'cancel all, flatten, halt');
  b.classList.toggle('again', halted);
  b.title = halted ? 'Trading is already HALTED. Halting again is harmless: it cancels and flattens anything left.' : '';
}
function updateControlButtons() {
  const off = !controlsEnabled() || controlBusy;
  for (const id of ['halt', 'resume', 'cancel-all']) $(id).disabled = off;
  for (const b of document.querySelectorAll('.flatten[data-symbol]')) b.disabled = off;
}

function confirmDialog(title, text) {
  const dlg = $('confirm');
  setText($('confirm-title'), title);
  setText($('confirm-text'), text);
  return new Promise((resolve) => {
    const yes = $('confirm-yes'), no = $('confirm-no');
    const done = (v) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    const onCancel = (e) => { e.preventDefault(); done(false); };
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    no.focus();
  });
}

function showResult(action, status, ok, lines, note) {
  const el = $('control-result');
  el.textContent = '';
  el.dataset.status = String(status);
  el.dataset.ok = ok ? 'true' : 'false';
  const word = ok ? 'OK' : status ? 'FAILED' : 'NOT SENT';
  el.className = 'result ' + (ok ? 'good' : status ? 'bad' : 'warn');
  const head = document.createElement('div');
  head.className = 'result-head';
  head.textContent = `${fmtDateTime(Date.now()).slice(11)} UTC  ${action}: ${word}${status ? ` (HTTP ${status})` : ''}${note ? ' · ' + note : ''}`;
  el.appendChild(head);
  if (lines && lines.length) {
    const pre = document.createElement('pre');
    pre.textContent = lines.join('\n');
    el.appendChild(pre);
  }
  const log = $('control-log');
  for (const e of log.querySelectorAll('tr.empty')) e.remove();
  log.insertBefore(tr([
    { t: fmtDateTime(Date.now()).slice(11), c: 'num muted' },
    { t: action, c: 'name' },
    { t: word, c: ok ? 'good' : status ? 'bad' : 'warn' },
    { t: status ? String(status) : '', c: 'r num' },
    { t: note || (lines || []).join(' | '), c: 'detail' },
  ]), log.firstChild);
  while (log.children.length > 50) log.lastElementChild.remove();
}

async function runControl(action, body) {
  const label = action === 'flatten' ? `flatten ${body.symbol}` : action;
  if (!controlsEnabled()) { showResult(label, 0, false, [], 'controls are disabled on the server (read-only)'); return; }
  if (!token) { showResult(label, 0, false, [], 'type the operator token first (nothing was sent)'); $('token').focus(); return; }
  const a = action === 'flatten'
    ? { title: `Flatten ${body.symbol}`, text: `Close the whole ${body.symbol} position at market (reduce-only) and cancel its working orders.` }
    : ACTIONS[action];
  if (!(await confirmDialog(a.title, a.text))) { showResult(label, 0, false, [], 'cancelled, nothing was sent'); return; }
  controlBusy = true;
  updateControlButtons();
  const el = $('control-result');
  el.className = 'result muted';
  el.textContent = `${label}: sending…`;
  el.dataset.status = '';
  try {
    const r = await fetch(`/api/control/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${token}` },
      body: JSON.stringify(body || {}),
      cache: 'no-store',
      credentials: 'same-origin',
    });
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    const lines = data && Array.isArray(data.lines) ? data.lines.map(String) : [];
    let note = '';
    if (r.status === 401) note = 'token rejected, nothing changed';
    else if (r.status === 403) note = 'refused: controls disabled on the server, or a cross-site request';
    else if (!r.ok) note = 'server error';
    showResult(label, r.status, r.ok && !!(data && data.ok), lines, note);
  } catch (e) {
    showResult(label, 0, false, [], 'request failed: ' + e.message);
  } finally {
    controlBusy = false;
    updateControlButtons();
  }
}

function initControls() {
  const input = $('token'), remember = $('token-remember');
  try {
    const saved = sessionStorage.getItem('dashboard.token');
    if (saved) { token = saved; input.value = saved; remember.checked = true; }
  } catch (_) { /* storage unavailable: memory only */ }
  const save = () => {
    token = input.value.trim();
    try {
      if (remember.checked && token) sessionStorage.setItem('dashboard.token', token);
      else sessionStorage.removeItem('dashboard.token');
    } catch (_) { /* memory only */ }
  };
  input.addEventListener('input', save);
  // the form only quiets Chromium's "password field not in a form"; it is never submitted
  $('token-form').addEventListener('submit', (e) => e.preventDefault());
  remember.addEventListener('change', save);
  $('halt').addEventListener('click', () => runControl('halt', {}));
  $('resume').addEventListener('click', () => runControl('resume', {}));
  $('cancel-all').addEventListener('click', () => runControl('cancel-all', {}));
  $('flatten-body').addEventListener('click', (e) => {
    const b = e.target.closest('.flatten[data-symbol]');
    if (b && !b.disabled) runControl('flatten', { symbol: b.dataset.symbol });
  });
  updateControlButtons();
}

// ------------------------------------------------------------------ websocket
function setConnection(live) {
  connected = live;
  const el = $('connection');
  el.dataset.state = live ? 'live' : 'reconnecting';
  el.dataset.attempt = String(attempt);
  setText(el, live ? 'live' : attempt > 0 ? `reconnecting (attempt ${attempt})` : 'connecting');
  el.classList.remove('silent');
  document.body.classList.toggle('stale', !live && snapshots > 0);
  const sn = $('stale-notice');
  if (live) { disconnectedSinceMs = null; sn.classList.add('hidden'); }
  else if (snapshots > 0) {
    if (disconnectedSinceMs === null) disconnectedSinceMs = Date.now();
    sn.classList.remove('hidden');
    tick();
  }
}

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  let sock;
  try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  sock.onmessage = (ev) => { if (ws === sock) onMessage(ev.data); };
  sock.onclose = () => { if (ws === sock) { ws = null; setConnection(false); scheduleReconnect(); } };
  sock.onerror = () => { /* onclose follows */ };
}

let reconnectTimer = null;
function scheduleReconnect() {
  if (reconnectTimer !== null) return;
  attempt += 1;
  reconnects += 1;
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempt - 1));
  setConnection(false);
  reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
}
function resync(why) {
  // a gap in seq: drop this socket and start again (the server begins with a snapshot)
  const sock = ws;
  ws = null;
  if (sock) { try { sock.close(4000, why); } catch (_) { /* closing anyway */ } }
  setConnection(false);
  scheduleReconnect();
}

function onMessage(text) {
  lastMessageMs = Date.now();
  let msg;
  try { msg = JSON.parse(text); } catch (e) { console.warn('dashboard: unreadable message dropped'); return; }
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'snapshot') {
    if (!msg.state || typeof msg.state !== 'object') return;
    state = msg.state;
    seq = typeof msg.seq === 'number' ? msg.seq : null;
    snapshots += 1;
    attempt = 0;
    if (!connected) setConnection(true);
    markAll();
    requestFrame();
  } else if (msg.type === 'delta') {
    if (seq === null) { resync('delta before snapshot'); return; }
    if (typeof msg.seq === 'number') {
      if (msg.seq !== seq + 1) { resync(`seq ${msg.seq} after ${seq}`); return; }
      seq = msg.seq;
    }
    const changes = Array.isArray(msg.changes) ? msg.changes : [];
    for (const ch of changes) applyChange(ch);
    const t = num(msg.ts_sent_ns);
    if (t !== null && t > 0) {
      pendingLatencySent.push(t / 1e6);
      if (pendingLatencySent.length > LATENCY_KEEP) pendingLatencySent.splice(0, pendingLatencySent.length - LATENCY_KEEP);
    }
    requestFrame();
  }
}

// ------------------------------------------------------------------ start
function start() {
  initTables();
  initControls();
  for (const b of document.querySelectorAll('[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || (t.closest && t.closest('dialog')))) return;
    const i = '123456'.indexOf(e.key);
    if (i >= 0) showTab(TABS[i]);
  });
  $('reports-reload').addEventListener('click', () => loadReports());
  for (const b of document.querySelectorAll('[data-window]')) {
    b.addEventListener('click', () => {
      priceWindowS = Number(b.dataset.window);
      for (const o of document.querySelectorAll('[data-window]')) o.classList.toggle('active', o === b);
      chartDirty('prices');
    });
  }
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { chartDirty('equity'); chartDirty('latency'); chartDirty('prices'); } });
  showTab(location.hash.slice(1) || 'overview');
  markAll();
  requestFrame();
  setInterval(tick, 1000);
  setConnection(false);
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

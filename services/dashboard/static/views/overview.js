// Overview, the health side: the trading-state banner, services, bus counters, circuit
// breakers, alerts (and the header's 15-minute count) and the strategies.

import { NA, num, signed, pnlClass, busTotalClass, dropChipClass, statusBadge } from '../format.js';
import { $, setText, setCls, cell, tr } from '../dom.js';
import { KeyedTable, FeedTable } from '../tables.js';
import { intf, fmtQty, fmtTime, fmtAge, ageSeconds, fmtDuration, qtySideClass } from '../text.js';
import { state, LIST_BOUNDS, workingCount } from '../state.js';

const HB_COL = 6;  // the services table's heartbeat column
let services = null, strategies = null, alerts = null;

export function initOverview() {
  services = new KeyedTable($('services-body'), {
    rowAttr: 'data-service', emptyText: 'no services reported',
    cols: [
      (k) => ({ t: k, c: 'name' }),
      (k, s) => ({ t: s.state || NA, c: 'st ' + svcStateClass(s) }),
      (k, s) => ({ t: s.bus_state || NA, c: busStateClass(s.bus_state), title: busStateTitle(s) }),
      (k, s) => ({ t: s.pid ? String(s.pid) : NA, c: 'r num' }),
      (k, s) => ({ t: fmtDuration(s.uptime_s), c: 'r num' }),
      (k, s) => restartsSpec(s),
      (k, s) => hbSpec(s.last_heartbeat_ns),
      (k, s) => {
        const t = svcDetail(s), badge = statusBadge(s.bus_status);
        return { t, c: 'detail' + (s.supervisor_error ? ' bad' : badge ? ' ' + badge.c : ''), title: t };
      },
    ],
    rowClass: (k, s) => (s.alive === false ? 'row-bad' : ''),
    extra: (row, k, s) => { row.children[HB_COL].__hb = s.last_heartbeat_ns; },
  });
  strategies = new KeyedTable($('strategies-body'), {
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
  });
  alerts = new FeedTable($('alerts-body'), {
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
  });
}

// the services, bus, breakers and alerts parts of one frame (d: dirty parts, ap: appends)
export function renderHealth(d, ap) {
  if (d.has('services')) services.update(state.health.services, d.get('services'));
  if (d.has('bus')) renderBus();
  if (d.has('breakers')) renderBreakers();
  if (d.has('alerts')) alerts.rebuild(state.alerts);
  else if (ap.has('alerts')) alerts.append(state.alerts, ap.get('alerts'));
  if (d.has('alerts') || ap.has('alerts')) renderAlertCount();
}
export function renderStrategies(keys) { strategies.update(state.strategies, keys); }

// heartbeat ages tick once a second (only those cells)
export function tickHeartbeats() {
  if (!services) return;
  for (const row of services.rows.values()) {
    const td = row.children[HB_COL];
    if (td) cell(td, hbSpec(td.__hb));
  }
}

// restarts under this supervisord; unknown (its log unreadable): at least those seen since
function restartsSpec(s) {
  const known = num(s.restarts), seen = num(s.restarts_seen);
  if (known === null && seen) {
    return { t: '\u2265 ' + intf(seen), c: 'r num warn', title: 'restarts before the dashboard came: unknown' };
  }
  return { t: intf(s.restarts), c: 'r num' + (known > 0 ? ' warn' : '') };
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
function sevClass(sev) {
  const s = String(sev || '').toLowerCase();
  if (/crit|fatal|error|emerg|page/.test(s)) return 'bad';
  if (/warn/.test(s)) return 'warn';
  return 'info';
}
function hbSpec(tsNs) {
  const age = ageSeconds(tsNs);
  const c = 'r num ' + (age === null ? 'muted' : age > 15 ? 'bad' : age > 5 ? 'warn' : '');
  return { t: age === null ? NA : fmtAge(tsNs), c };
}

export function renderBanner() {
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
export function renderAlertCount() {
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

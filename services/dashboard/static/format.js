// Number formatting shared by the page's modules (text.js, views/) and tested on its own with Node
// (tests/dashboard/test_page_format.py): pure functions, no DOM.
//
// An unknown (null, undefined, '', not finite) is shown as NA, never as 0. A value that
// rounds to zero at the digits shown is shown as an unsigned zero ("0.00", not "-0.00")
// in the neutral colour: its sign is noise.

export const NA = 'n/a';

const fmtCache = new Map();
export function nf(dp, group = true) {
  const k = dp * 2 + (group ? 1 : 0);
  let f = fmtCache.get(k);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: dp, maximumFractionDigits: dp, useGrouping: group });
    fmtCache.set(k, f);
  }
  return f;
}
export function isUnknown(v) {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v));
}
export function num(v) {
  if (isUnknown(v)) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}
// n as shown at dp digits: 0 (never -0) when it rounds to zero
export function shown(n, dp) {
  const r = Number(n.toFixed(dp));
  return r === 0 ? 0 : n;
}
export function fixed(v, dp, group = true) {
  const n = num(v);
  return n === null ? NA : nf(dp, group).format(shown(n, dp));
}
// "+1.23", "-1.23", "0.00" (a value that rounds to zero has no sign)
export function signed(v, dp) {
  const n = num(v);
  if (n === null) return NA;
  const r = shown(n, dp);
  const s = nf(dp).format(r);
  return r > 0 ? '+' + s : s;
}
// the PnL colour class of v as shown at dp digits: '' for unknown or zero
export function pnlClass(v, dp = 2) {
  const n = num(v);
  if (n === null) return '';
  const r = shown(n, dp);
  return r === 0 ? '' : r > 0 ? 'pos' : 'neg';
}
// a bus counter's colour: lost is bad, gaps and drops warn; drops the subscriber makes by
// design (superseded: a newer value of the same key replaced it) are neutral
export const BENIGN_DROPS = new Set(['superseded']);
export function busTotalClass(name, counts) {
  if (!counts || typeof counts !== 'object') return 'muted';
  let harmful = 0, benign = 0;
  for (const k in counts) {
    const n = num(counts[k]) || 0;
    if (name === 'dropped' && BENIGN_DROPS.has(k)) benign += n; else harmful += n;
  }
  if (harmful > 0) return name === 'lost' ? 'bad' : 'warn';
  return benign > 0 ? '' : 'good';
}
export function dropChipClass(name, reason) {
  return name === 'dropped' && BENIGN_DROPS.has(reason) ? 'chip' : 'chip warn';
}
// a ServiceStatus state worth showing beside the liveness: anything but RUNNING
export function statusBadge(status) {
  const s = String(status || '').toUpperCase();
  if (!s || s === 'RUNNING') return null;
  return { t: s, c: s === 'DEGRADED' ? 'bad' : 'warn' };
}
// an age in seconds as the page shows it
export function fmtAgeS(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return NA;
  if (s < 0) s = 0;
  const pad2 = (n) => (n < 10 ? '0' + n : '' + n);
  if (s < 60) return s.toFixed(0) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' m ' + pad2(Math.floor(s % 60)) + ' s';
  return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' m';
}

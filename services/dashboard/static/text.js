// Display text that depends on the page rather than on a number alone: decimals learned per
// symbol from the venue's own strings (tick and lot sizes), UTC times, ages and sizes.
// format.js keeps the pure number formatting (NA, nf, num, fixed, signed ...).

import { NA, nf, num, fixed } from './format.js';

export function intf(v) { const n = num(v); return n === null ? NA : nf(0).format(n); }

// decimals learned per symbol; this module is their only writer
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
export function learnFromView(view) {
  const syms = view.market.symbols || {};
  for (const s in syms) { learn(priceDp, s, syms[s].bid); learn(priceDp, s, syms[s].ask); learn(priceDp, s, syms[s].last); }
  const w = view.orders.working || {};
  for (const k in w) { const o = w[k]; if (o) { learn(priceDp, o.symbol, o.limit_price); learn(qtyDp, o.symbol, o.qty); } }
  const pos = view.money.positions || {};
  for (const k in pos) if (pos[k]) learn(qtyDp, k, pos[k].qty);
  const st = view.strategies || {};
  for (const k in st) if (st[k]) learn(qtyDp, st[k].symbol, st[k].position_qty);
}
export function learnFromFills(list, from) {
  for (let i = from; i < list.length; i++) {
    const f = list[i];
    if (f) { learn(priceDp, f.symbol, f.price); learn(qtyDp, f.symbol, f.qty); }
  }
}

export function fmtPrice(sym, v) {
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
export function fmtQty(sym, v) {
  if (typeof v === 'string') learn(qtyDp, sym, v);
  const d = qtyDp.get(sym);
  if (d !== undefined) return fixed(v, d);
  const n = num(v);
  if (n === null) return NA;
  return typeof v === 'string' ? v : String(n);
}
export function usdt(v) { return fixed(v, 2); }
export function pad2(n) { return n < 10 ? '0' + n : '' + n; }
export function fmtTime(tsNs) {
  const n = num(tsNs);
  if (n === null || n <= 0) return NA;
  const d = new Date(n / 1e6);
  const ms = d.getUTCMilliseconds();
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${ms < 10 ? '00' + ms : ms < 100 ? '0' + ms : ms}`;
}
export function fmtDateTime(ms) {
  if (ms === null) return NA;
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}
export function fmtAge(tsNs) {
  const n = num(tsNs);
  if (n === null || n <= 0) return NA;
  const s = (Date.now() - n / 1e6) / 1000;
  if (s < 0) return '0.0 s';
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' m ' + pad2(Math.floor(s % 60)) + ' s';
  return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' m';
}
export function ageSeconds(tsNs) {
  const n = num(tsNs);
  return n === null || n <= 0 ? null : (Date.now() - n / 1e6) / 1000;
}
export function fmtDuration(sec) {
  const s = num(sec);
  if (s === null) return NA;
  if (s < 60) return s.toFixed(0) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' m ' + pad2(Math.floor(s % 60)) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' m';
  return Math.floor(s / 86400) + ' d ' + pad2(Math.floor((s % 86400) / 3600)) + ' h';
}
export function fmtBytes(b) {
  const n = num(b);
  if (n === null) return NA;
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}
export function shortId(s) {
  if (typeof s !== 'string') return NA;
  return s.length > 14 ? '…' + s.slice(-10) : s;
}
export function sideClass(side) {
  const s = String(side || '').toLowerCase();
  return s === 'buy' ? 'buy' : s === 'sell' ? 'sell' : '';
}
export function qtySideClass(q) { const n = num(q); return n === null || n === 0 ? '' : n > 0 ? 'buy' : 'sell'; }

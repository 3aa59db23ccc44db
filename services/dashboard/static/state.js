// The view document (one owner: this module) and its path updates. A snapshot replaces it,
// a delta's changes are applied here; each change marks the parts to redraw (dirty.js).
// Other modules read `state` (a live binding) and never assign it.

import { mark, markAll, markPath } from './dirty.js';

// a list's bound by its last path key: the server keeps the same (services/dashboard/view.py)
export const LIST_BOUNDS = {
  alerts: 200, fills: 200, denials: 200, equity: 2000, realised_pnl: 2000, prices: 1200, series: 1800,
};
const DEFAULT_BOUND = 2000;

export let state = emptyView();

function emptyView() {
  return {
    settings: {}, health: { services: {}, bus: {}, breakers: {} }, alerts: [],
    money: { positions: {}, equity: [], realised_pnl: [] },
    orders: { working: {}, fills: [], denials: [] },
    market: { symbols: {}, ranking: [], mm_selection: [] },
    strategies: {}, latency: {},
  };
}

// a snapshot: the whole view at once, every part to redraw
export function replaceState(view) {
  state = view;
  markAll();
}

function boundFor(path) {
  return LIST_BOUNDS[path[path.length - 1]] || DEFAULT_BOUND;
}

// apply one change to the view; returns false when the path is unusable
export function applyChange(ch) {
  const path = Array.isArray(ch.path) ? ch.path : null;
  if (!path) return false;
  const op = ch.op;
  if (path.length === 0) {
    if (op === 'set' && ch.value && typeof ch.value === 'object') { replaceState(ch.value); return true; }
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

// fill in the parts a partial document may lack, so renderers can index freely
export function normalise() {
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

// ------------------------------------------------------------------ queries on the view
export function workingCount(strategyId) {
  const w = state.orders.working || {};
  let n = 0;
  for (const k in w) if (w[k] && w[k].strategy_id === strategyId) n++;
  return n;
}
export function ordersOf(sym) {
  const out = [];
  const w = state.orders.working || {};
  for (const k in w) if (w[k] && w[k].symbol === sym) out.push(w[k]);
  return out;
}
export function controlsEnabled() { return state.settings && state.settings.controls_enabled === true; }

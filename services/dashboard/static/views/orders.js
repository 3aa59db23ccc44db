// Orders: the working orders beside the book's touch, recent fills, denials and rejections.

import { NA, num, fixed, signed } from '../format.js';
import { $, tr } from '../dom.js';
import { KeyedTable, FeedTable } from '../tables.js';
import { fmtPrice, fmtQty, fmtTime, shortId, sideClass, learnFromFills } from '../text.js';
import { state, LIST_BOUNDS } from '../state.js';

let working = null, fills = null, denials = null;

export function initOrders() {
  working = new KeyedTable($('working-body'), {
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
  });
  fills = new FeedTable($('fills-body'), {
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
  });
  denials = new FeedTable($('denials-body'), {
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
  });
}

// the working, touch, fills and denials parts of one frame (d: dirty parts, ap: appends)
export function renderOrders(d, ap) {
  if (d.has('working')) working.update(state.orders.working, d.get('working'));
  if (d.has('touch') && !d.has('working')) {
    // a quote moved: refresh the touch cells of that symbol's orders only
    const syms = d.get('touch');
    const w = state.orders.working || {};
    const keys = [];
    for (const k in w) if (w[k] && (syms === true || syms.has(w[k].symbol))) keys.push(k);
    if (keys.length) working.update(w, keys);
  }
  if (d.has('fills')) learnFromFills(state.orders.fills, 0);
  else if (ap.has('orders.fills')) learnFromFills(state.orders.fills, Math.max(0, state.orders.fills.length - ap.get('orders.fills')));
  if (d.has('fills')) fills.rebuild(state.orders.fills);
  else if (ap.has('orders.fills')) fills.append(state.orders.fills, ap.get('orders.fills'));
  if (d.has('denials')) denials.rebuild(state.orders.denials);
  else if (ap.has('orders.denials')) denials.append(state.orders.denials, ap.get('orders.denials'));
}

function slipClass(b) { const n = num(b); return n === null ? '' : n > 0.5 ? 'neg' : n < -0.5 ? 'pos' : ''; }
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

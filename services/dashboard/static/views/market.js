// Market: the followed symbols' touch and feed state, the scanner ranking (with the scan's
// age) and the market-making selection. The price charts are views/prices.js.

import { NA, num, fixed, fmtAgeS } from '../format.js';
import { $, setText, emptyRow, tr } from '../dom.js';
import { KeyedTable } from '../tables.js';
import { fmtPrice, fmtQty, fmtTime, qtySideClass } from '../text.js';
import { state, ordersOf } from '../state.js';

let market = null;

export function initMarket() {
  market = new KeyedTable($('market-body'), {
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
  });
}

// the market and ranking parts of one frame (d: dirty parts)
export function renderMarket(d) {
  if (d.has('market')) market.update(state.market.symbols, d.get('market'));
  if (d.has('ranking')) renderRanking();
}

function feedStateClass(st) {
  const s = String(st || '').toUpperCase();
  if (!s) return 'muted';
  if (s === 'LIVE') return 'good';
  if (s === 'CONNECTED' || s === 'RESYNCING') return 'warn';
  return 'bad';  // STALE, CROSSED, DISCONNECTED
}
function spreadBps(m) {
  const b = num(m.bid), a = num(m.ask);
  if (b === null || a === null || b <= 0 || a <= 0) return NA;
  return fixed(((a - b) / ((a + b) / 2)) * 1e4, 2);
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
export function renderRankingAge() {
  const el = $('ranking-age');
  const ts = num(state.market.ranking_ts_ns);
  if (ts === null || ts <= 0) { setText(el, (state.market.ranking || []).length ? '(scan time n/a)' : ''); return; }
  const age = (Date.now() - ts / 1e6) / 1000;
  setText(el, `(scan at ${fmtTime(ts).slice(0, 8)} UTC, ${fmtAgeS(age)} ago; last price as of the scan)`);
}

// Overview, the money side: positions (marked at the mid) and their totals, the money card,
// the header's equity / unrealised / daily-loss figures, and the equity chart.

import { NA, nf, num, fixed, signed, pnlClass } from '../format.js';
import { $, setText, setCls } from '../dom.js';
import { KeyedTable } from '../tables.js';
import { fmtPrice, fmtQty, usdt, fmtDateTime, qtySideClass } from '../text.js';
import { state } from '../state.js';
import { COLORS, registerChart, chartDirty, ensureChart, seriesXY, joinXY, axis, timeAxis, fitSize, utc } from '../charts.js';

let positions = null;

export function initMoney() {
  positions = new KeyedTable($('positions-body'), {
    rowAttr: 'data-symbol', emptyText: 'flat: no positions',
    cols: [
      (k) => ({ t: k, c: 'name' }),
      (k, p) => ({ t: fmtQty(k, p.qty), c: 'r num ' + qtySideClass(p.qty) }),
      (k, p) => ({ t: fmtPrice(k, p.avg_entry_price), c: 'r num' }),
      (k, p) => ({ t: fmtPrice(k, p.mark_price), c: 'r num', title: 'mark: the mid the dashboard shows' }),
      (k, p) => ({ t: signed(p.unrealised_pnl, 2), c: 'r num ' + pnlClass(p.unrealised_pnl), title: upnlTitle(p) }),
      (k, p) => ({ t: signed(p.realised_pnl, 2), c: 'r num ' + pnlClass(p.realised_pnl) }),
    ],
  });
  registerChart('equity', 'overview', drawEquity);
}

export function upnlTitle(p) {
  return `qty × (mid − entry) at the mid; the venue's figure (at its mark price, as of the executor's last position update): ${signed(p.venue_unrealised_pnl, 4)}`;
}

// the positions, money and equity parts of one frame (d: dirty parts)
export function renderMoneyParts(d) {
  if (d.has('positions')) {
    positions.update(state.money.positions, d.get('positions'));
    renderPositionTotals();
  } else if (d.has('money')) renderPositionTotals();  // the total at the mid
  if (d.has('money') || d.has('positions')) renderMoney();
  if (d.has('equity')) chartDirty('equity');
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

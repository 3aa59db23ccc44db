// Market's price charts: one uPlot per followed symbol (the ones we hold, quote or filled in
// first), the mid once a second, our fills as dots, our working orders as dashed lines,
// over a chosen window (the [data-window] buttons).

import { num } from '../format.js';
import { $ } from '../dom.js';
import { fmtPrice, fmtQty, sideClass } from '../text.js';
import { state, ordersOf } from '../state.js';
import {
  COLORS, registerChart, chartDirty, seriesXY, joinXY, axis, timeAxis, fitSize, utc, chartWidth,
  observe, unobserve,
} from '../charts.js';

const priceCharts = new Map(); // symbol -> {u, box, el, info}
let priceWindowS = 300;  // the Market charts' span: the last 5 minutes unless chosen otherwise

export function initPrices() {
  registerChart('prices', 'market', (sym) => { if (sym === '*') syncPriceCharts(); else drawPrice(sym); });
  for (const b of document.querySelectorAll('[data-window]')) {
    b.addEventListener('click', () => {
      priceWindowS = Number(b.dataset.window);
      for (const o of document.querySelectorAll('[data-window]')) o.classList.toggle('active', o === b);
      chartDirty('prices');
    });
  }
}

// the prices part of one frame: the charts of the symbols marked (all when `market` is)
export function renderPrices(d) {
  if (d.has('prices') || d.has('market')) {
    const p = d.get('prices');
    if (p === true || d.get('market') === true) chartDirty('prices');
    else if (p) for (const s of p) chartDirty('prices', s);
  }
}

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
    if (!want.includes(s)) { c.u.destroy(); unobserve(c.el); c.box.remove(); priceCharts.delete(s); }
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

// Latency: tick-to-order and order-to-ack percentiles with their charts (log scale), and the
// market maker's stages.

import { nf, num, fixed } from '../format.js';
import { $, setText, emptyRow, tr } from '../dom.js';
import { fmtDateTime } from '../text.js';
import { state } from '../state.js';
import { COLORS, registerChart, chartDirty, ensureChart, axis, timeAxis, fitSize, utc } from '../charts.js';

export function initLatency() {
  registerChart('latency', 'latency', drawLatency);
}

// the latency part of one frame
export function renderLatency() {
  const L = state.latency || {};
  const t = L.tick_to_order_ms || {}, o = L.order_to_ack_ms || {};
  setText($('t2o-p50'), fixed(t.p50, 2)); setText($('t2o-p90'), fixed(t.p90, 2)); setText($('t2o-p99'), fixed(t.p99, 2));
  setText($('o2a-p50'), fixed(o.p50, 2)); setText($('o2a-p90'), fixed(o.p90, 2)); setText($('o2a-p99'), fixed(o.p99, 2));
  renderStages(L.mm_stages_us || {});
  chartDirty('latency');
}

function renderStages(st) {
  const body = $('stages-body');
  const names = Object.keys(st);
  body.textContent = '';
  if (!names.length) { body.appendChild(emptyRow(body, 3, 'no market maker stages reported')); return; }
  for (const n of names) body.appendChild(tr([
    { t: n, c: 'name' },
    { t: fixed(st[n] && st[n].p50, 1), c: 'r num' },
    { t: fixed(st[n] && st[n].p99, 1), c: 'r num' },
  ], { 'data-stage': n }));
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

// uPlot wrappers (vendor/uplot, a classic script: the global uPlot): axes in UTC, series
// helpers, charts that follow their box's width, and the redraw schedule. A chart kind is
// registered with the panel it lives on; a dirty chart is drawn at most every 500 ms and
// only while its panel shows (it waits for the panel otherwise).

import { num } from './format.js';
import { pad2 } from './text.js';
import { activeTab } from './tabs.js';

export const COLORS = {
  green: '#3fb950', red: '#f85149', amber: '#d29922', blue: '#58a6ff', purple: '#bc8cff',
  axis: '#8b949e', grid: '#21262d', text: '#c9d1d9',
};
const CHART_MIN_INTERVAL_MS = 500;

const kinds = new Map();       // kind -> {panel, draw(sub)}; sub: a symbol or '*' (all)
const charts = {};             // name -> uPlot (ensureChart's)
const chartsDirty = new Set(); // '<kind>:<sub>'
let chartTimer = null;
let lastChartFlush = 0;

export function registerChart(kind, panel, draw) { kinds.set(kind, { panel, draw }); }

export function chartDirty(kind, sym) {
  chartsDirty.add(`${kind}:${sym || '*'}`);
  scheduleCharts();
}
// every chart, e.g. when the page shows again
export function allChartsDirty() { for (const kind of kinds.keys()) chartDirty(kind); }

// a panel was shown: draw its charts, and resize the ones created while it was hidden
export function panelShown(name) {
  for (const [kind, k] of kinds) if (k.panel === name) chartDirty(kind);
  requestAnimationFrame(() => {
    for (const el of document.querySelectorAll(`#panel-${name} .chart`)) {
      const u = el.__uplot;
      if (u) { const w = chartWidth(el); if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height }); }
    }
  });
}

function scheduleCharts() {
  if (chartTimer !== null) return;
  const wait = Math.max(0, CHART_MIN_INTERVAL_MS - (performance.now() - lastChartFlush));
  chartTimer = setTimeout(() => { chartTimer = null; requestAnimationFrame(flushCharts); }, wait);
}
function visible(panel) { return activeTab === panel && !document.hidden; }

function flushCharts() {
  lastChartFlush = performance.now();
  if (typeof uPlot === 'undefined') return;
  const left = new Set();
  for (const key of chartsDirty) {
    const i = key.indexOf(':');
    const k = kinds.get(key.slice(0, i));
    if (!k) continue;
    if (visible(k.panel)) k.draw(key.slice(i + 1)); else left.add(key);
  }
  chartsDirty.clear();
  for (const k of left) chartsDirty.add(k);
}

export function axis(extra) {
  return Object.assign({
    stroke: COLORS.axis,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
    font: '11px system-ui, sans-serif',
  }, extra || {});
}
export const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
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
export const timeAxis = () => axis({ values: timeValues, space: 60 });
// a y axis as wide as its longest label (uPlot's fixed size clips "100,000.40")
export function fitSize(u, values, axisIdx, cycleNum) {
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

export function chartWidth(el) { return Math.max(200, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600)); }

export function seriesXY(series, col = 1) {
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
export function joinXY(parts) {
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

// the chart `name` in el: made on first use, its data replaced after
export function ensureChart(name, el, makeOpts, data) {
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
export function observe(el, u) { el.__uplot = u; if (resizeObserver) resizeObserver.observe(el); }
export function unobserve(el) { if (resizeObserver) resizeObserver.unobserve(el); }

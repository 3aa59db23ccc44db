// Research: the backtest and sweep reports on disk (/api/reports), loaded when the tab is
// first shown and again on #reports-reload; each opens at /reports/<name>.

import { num } from '../format.js';
import { $, setText, emptyRow, tr } from '../dom.js';
import { fmtBytes, fmtDateTime } from '../text.js';

let reportsLoaded = false;

export function initResearch() {
  $('reports-reload').addEventListener('click', () => loadReports());
}

// the Research tab was shown: load the list the first time
export function researchShown() {
  if (!reportsLoaded) loadReports();
}

async function loadReports() {
  reportsLoaded = true;
  const status = $('reports-status');
  setText(status, 'loading…');
  let list;
  try {
    const r = await fetch('/api/reports', { cache: 'no-store' });
    if (!r.ok) { setText(status, `failed: HTTP ${r.status}`); return; }
    list = await r.json();
  } catch (e) {
    setText(status, 'failed: ' + e.message);
    return;
  }
  let root = '';
  if (list && !Array.isArray(list)) { root = list.root || ''; list = list.reports || list.items || []; }
  const body = $('reports-body');
  body.textContent = '';
  if (!list.length) body.appendChild(emptyRow(body, 4, 'no reports on disk'));
  for (const it of list) {
    const r = typeof it === 'string' ? { name: it } : it || {};
    const name = r.name || r.path || r.file;
    if (!name) continue;
    const row = tr([
      '',
      { t: r.kind || r.type || guessKind(name) },
      { t: fmtBytes(r.bytes ?? r.size ?? r.size_bytes), c: 'r num' },
      { t: fmtDateTime(toMs(r.mtime ?? r.mtime_ns ?? r.modified ?? r.modified_ns ?? r.ts_ns)), c: 'r num muted' },
    ], { 'data-report': name });
    const a = document.createElement('a');
    a.href = '/reports/' + String(name).split('/').map(encodeURIComponent).join('/');
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = name;
    row.firstChild.appendChild(a);
    body.appendChild(row);
  }
  setText(status, `${list.length} report${list.length === 1 ? '' : 's'}${root ? ' in ' + root : ''} · loaded ${fmtDateTime(Date.now()).slice(11)} UTC`);
}
function guessKind(name) {
  const n = String(name).toLowerCase();
  const kind = n.includes('sweep') ? 'sweep' : n.includes('backtest') ? 'backtest' : 'report';
  const ext = n.endsWith('.html') ? 'html' : n.endsWith('.json') ? 'json' : '';
  return ext ? `${kind} (${ext})` : kind;
}
function toMs(v) {
  if (typeof v === 'string' && !/^[0-9.]+$/.test(v)) { const t = Date.parse(v); return Number.isFinite(t) ? t : null; }
  const n = num(v);
  if (n === null) return null;
  if (n > 1e17) return n / 1e6;  // ns
  if (n > 1e14) return n / 1e3;  // us
  if (n > 1e11) return n;        // ms
  return n * 1000;               // s
}

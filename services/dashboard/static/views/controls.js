// Controls: the operator token, HALT / Cancel all / Resume and Flatten one symbol, each
// confirmed in the <dialog> and sent with the token in the Authorization header; the result
// and this session's log. Also the settings they depend on: the mode badge and the read-only
// notice (settings.controls_enabled).

import { num, signed, pnlClass } from '../format.js';
import { $, setText, setCls, tr } from '../dom.js';
import { KeyedTable } from '../tables.js';
import { fmtPrice, fmtQty, fmtDateTime, qtySideClass } from '../text.js';
import { state, controlsEnabled } from '../state.js';
import { upnlTitle } from './money.js';

let token = '';
let controlBusy = false;
let flatten = null;
const ACTIONS = {
  'halt': { title: 'HALT', text: 'Cancel every working order, flatten every position and halt trading. New orders are refused until you resume.', path: 'halt' },
  'resume': { title: 'Resume', text: 'Set the trading state back to ACTIVE: the strategies may send orders again.', path: 'resume' },
  'cancel-all': { title: 'Cancel all', text: 'Cancel every working order of every strategy. Positions stay open.', path: 'cancel-all' },
};

export function initControls() {
  flatten = new KeyedTable($('flatten-body'), {
    rowAttr: 'data-symbol', emptyText: 'no open positions', extraCols: 1,
    filter: (k, p) => num(p.qty) !== 0,
    cols: [
      (k) => ({ t: k, c: 'name' }),
      (k, p) => ({ t: fmtQty(k, p.qty), c: 'r num ' + qtySideClass(p.qty) }),
      (k, p) => ({ t: fmtPrice(k, p.mark_price), c: 'r num' }),
      (k, p) => ({ t: signed(p.unrealised_pnl, 2), c: 'r num ' + pnlClass(p.unrealised_pnl), title: upnlTitle(p) }),
    ],
    extra: (row, k) => {
      if (row.__btn) return;
      const td = document.createElement('td');
      td.className = 'r';
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'flatten act-small warn';
      b.dataset.symbol = k;
      b.dataset.testid = 'flatten';
      b.textContent = 'Flatten ' + k;
      b.disabled = !controlsEnabled() || controlBusy;
      td.appendChild(b);
      row.appendChild(td);
      row.__btn = b;
    },
  });
  const input = $('token'), remember = $('token-remember');
  try {
    const saved = sessionStorage.getItem('dashboard.token');
    if (saved) { token = saved; input.value = saved; remember.checked = true; }
  } catch (_) { /* storage unavailable: memory only */ }
  const save = () => {
    token = input.value.trim();
    try {
      if (remember.checked && token) sessionStorage.setItem('dashboard.token', token);
      else sessionStorage.removeItem('dashboard.token');
    } catch (_) { /* memory only */ }
  };
  input.addEventListener('input', save);
  // the form only quiets Chromium's "password field not in a form"; it is never submitted
  $('token-form').addEventListener('submit', (e) => e.preventDefault());
  remember.addEventListener('change', save);
  $('halt').addEventListener('click', () => runControl('halt', {}));
  $('resume').addEventListener('click', () => runControl('resume', {}));
  $('cancel-all').addEventListener('click', () => runControl('cancel-all', {}));
  $('flatten-body').addEventListener('click', (e) => {
    const b = e.target.closest('.flatten[data-symbol]');
    if (b && !b.disabled) runControl('flatten', { symbol: b.dataset.symbol });
  });
  updateControlButtons();
}

// the positions part of one frame, as the flatten list
export function renderFlatten(keys) { flatten.update(state.money.positions, keys); }

export function renderSettings() {
  const mode = state.settings.mode;
  const m = $('mode');
  setText(m, mode ? String(mode).toUpperCase() : 'mode n/a');
  setCls(m, 'badge ' + (mode === 'live' ? 'mode-live' : mode ? 'mode-paper' : ''));
  m.title = state.settings.run_dir ? 'run dir: ' + state.settings.run_dir : '';
  document.title = `${mode ? mode.toUpperCase() + ' · ' : ''}Trading dashboard`;
  $('readonly-notice').classList.toggle('hidden', controlsEnabled());
  updateControlButtons();
}

// HALT stays enabled while HALTED: a halt is idempotent and flattens whatever is left again;
// its label says so
export function renderHaltLabel() {
  const halted = state.health.trading_state === 'HALTED';
  const b = $('halt');
  setText(b.querySelector('small'), halted ? 'already HALTED: flattens again' : 'cancel all, flatten, halt');
  b.classList.toggle('again', halted);
  b.title = halted ? 'Trading is already HALTED. Halting again is harmless: it cancels and flattens anything left.' : '';
}
function updateControlButtons() {
  const off = !controlsEnabled() || controlBusy;
  for (const id of ['halt', 'resume', 'cancel-all']) $(id).disabled = off;
  for (const b of document.querySelectorAll('.flatten[data-symbol]')) b.disabled = off;
}

function confirmDialog(title, text) {
  const dlg = $('confirm');
  setText($('confirm-title'), title);
  setText($('confirm-text'), text);
  return new Promise((resolve) => {
    const yes = $('confirm-yes'), no = $('confirm-no');
    const done = (v) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    const onCancel = (e) => { e.preventDefault(); done(false); };
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    no.focus();
  });
}

function showResult(action, status, ok, lines, note) {
  const el = $('control-result');
  el.textContent = '';
  el.dataset.status = String(status);
  el.dataset.ok = ok ? 'true' : 'false';
  const word = ok ? 'OK' : status ? 'FAILED' : 'NOT SENT';
  el.className = 'result ' + (ok ? 'good' : status ? 'bad' : 'warn');
  const head = document.createElement('div');
  head.className = 'result-head';
  head.textContent = `${fmtDateTime(Date.now()).slice(11)} UTC  ${action}: ${word}${status ? ` (HTTP ${status})` : ''}${note ? ' · ' + note : ''}`;
  el.appendChild(head);
  if (lines && lines.length) {
    const pre = document.createElement('pre');
    pre.textContent = lines.join('\n');
    el.appendChild(pre);
  }
  const log = $('control-log');
  for (const e of log.querySelectorAll('tr.empty')) e.remove();
  log.insertBefore(tr([
    { t: fmtDateTime(Date.now()).slice(11), c: 'num muted' },
    { t: action, c: 'name' },
    { t: word, c: ok ? 'good' : status ? 'bad' : 'warn' },
    { t: status ? String(status) : '', c: 'r num' },
    { t: note || (lines || []).join(' | '), c: 'detail' },
  ]), log.firstChild);
  while (log.children.length > 50) log.lastElementChild.remove();
}

async function runControl(action, body) {
  const label = action === 'flatten' ? `flatten ${body.symbol}` : action;
  if (!controlsEnabled()) { showResult(label, 0, false, [], 'controls are disabled on the server (read-only)'); return; }
  if (!token) { showResult(label, 0, false, [], 'type the operator token first (nothing was sent)'); $('token').focus(); return; }
  const a = action === 'flatten'
    ? { title: `Flatten ${body.symbol}`, text: `Close the whole ${body.symbol} position at market (reduce-only) and cancel its working orders.` }
    : ACTIONS[action];
  if (!(await confirmDialog(a.title, a.text))) { showResult(label, 0, false, [], 'cancelled, nothing was sent'); return; }
  controlBusy = true;
  updateControlButtons();
  const el = $('control-result');
  el.className = 'result muted';
  el.textContent = `${label}: sending…`;
  el.dataset.status = '';
  try {
    const r = await fetch(`/api/control/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${token}` },
      body: JSON.stringify(body || {}),
      cache: 'no-store',
      credentials: 'same-origin',
    });
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    const lines = data && Array.isArray(data.lines) ? data.lines.map(String) : [];
    let note = '';
    if (r.status === 401) note = 'token rejected, nothing changed';
    else if (r.status === 403) note = 'refused: controls disabled on the server, or a cross-site request';
    else if (!r.ok) note = 'server error';
    showResult(label, r.status, r.ok && !!(data && data.ok), lines, note);
  } catch (e) {
    showResult(label, 0, false, [], 'request failed: ' + e.message);
  } finally {
    controlBusy = false;
    updateControlButtons();
  }
}

// The websocket (/ws): connect, reconnect with capped backoff, a snapshot then deltas in seq
// order (a gap: drop the socket and start again from a snapshot), the #connection badge and
// the header's age line. Messages are applied to the view (state.js), then a frame is asked.

import { NA, num } from './format.js';
import { $, setText } from './dom.js';
import { fmtDateTime } from './text.js';
import { applyChange, replaceState } from './state.js';
import { requestFrame, noteDeltaSent } from './frame.js';

const BACKOFF_START_MS = 500, BACKOFF_MAX_MS = 5000;
const SILENT_AFTER_S = 10;        // a live socket quiet this long is flagged (polls come every 2 s)

export let seq = null;
export let connected = false;
export let snapshots = 0;
export let reconnects = 0;
let attempt = 0;
let ws = null;
let lastMessageMs = 0;
let disconnectedSinceMs = null;
let reconnectTimer = null;
let onStale = () => {};

// start connecting; stale() runs when the figures freeze (the socket lost after a snapshot)
export function startConnection(stale) {
  onStale = stale;
  setConnection(false);
  connect();
}

function setConnection(live) {
  connected = live;
  const el = $('connection');
  el.dataset.state = live ? 'live' : 'reconnecting';
  el.dataset.attempt = String(attempt);
  setText(el, live ? 'live' : attempt > 0 ? `reconnecting (attempt ${attempt})` : 'connecting');
  el.classList.remove('silent');
  document.body.classList.toggle('stale', !live && snapshots > 0);
  const sn = $('stale-notice');
  if (live) { disconnectedSinceMs = null; sn.classList.add('hidden'); }
  else if (snapshots > 0) {
    if (disconnectedSinceMs === null) disconnectedSinceMs = Date.now();
    sn.classList.remove('hidden');
    onStale();
  }
}

// once a second: the last message's age, the frozen-since notice, a silent live socket
export function tickConnection() {
  const lu = $('last-update');
  if (lastMessageMs) setText(lu, `last message ${((Date.now() - lastMessageMs) / 1000).toFixed(0)} s ago · seq ${seq ?? NA}`);
  if (disconnectedSinceMs !== null) {
    setText($('stale-notice'), `disconnected: figures frozen since ${fmtDateTime(disconnectedSinceMs).slice(11)} UTC`);
  }
  // an open socket that has said nothing for a while: the server's 2 s polls stopped
  if (connected) {
    const quiet = lastMessageMs ? (Date.now() - lastMessageMs) / 1000 : 0;
    const el = $('connection');
    const silent = quiet > SILENT_AFTER_S;
    setText(el, silent ? `live · silent ${quiet.toFixed(0)} s` : 'live');
    el.classList.toggle('silent', silent);
  }
}

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  let sock;
  try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  sock.onmessage = (ev) => { if (ws === sock) onMessage(ev.data); };
  sock.onclose = () => { if (ws === sock) { ws = null; setConnection(false); scheduleReconnect(); } };
  sock.onerror = () => { /* onclose follows */ };
}

function scheduleReconnect() {
  if (reconnectTimer !== null) return;
  attempt += 1;
  reconnects += 1;
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempt - 1));
  setConnection(false);
  reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
}
function resync(why) {
  // a gap in seq: drop this socket and start again (the server begins with a snapshot)
  const sock = ws;
  ws = null;
  if (sock) { try { sock.close(4000, why); } catch (_) { /* closing anyway */ } }
  setConnection(false);
  scheduleReconnect();
}

function onMessage(text) {
  lastMessageMs = Date.now();
  let msg;
  try { msg = JSON.parse(text); } catch (e) { console.warn('dashboard: unreadable message dropped'); return; }
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'snapshot') {
    if (!msg.state || typeof msg.state !== 'object') return;
    replaceState(msg.state);
    seq = typeof msg.seq === 'number' ? msg.seq : null;
    snapshots += 1;
    attempt = 0;
    if (!connected) setConnection(true);
    requestFrame();
  } else if (msg.type === 'delta') {
    if (seq === null) { resync('delta before snapshot'); return; }
    if (typeof msg.seq === 'number') {
      if (msg.seq !== seq + 1) { resync(`seq ${msg.seq} after ${seq}`); return; }
      seq = msg.seq;
    }
    const changes = Array.isArray(msg.changes) ? msg.changes : [];
    for (const ch of changes) applyChange(ch);
    const t = num(msg.ts_sent_ns);
    if (t !== null && t > 0) noteDeltaSent(t / 1e6);
    requestFrame();
  }
}

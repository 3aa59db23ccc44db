// The dashboard page (docs/dashboard.md): one websocket (/ws) carrying a snapshot then deltas,
// applied to one view document and rendered incrementally (dirty parts only, once a frame).
// Plain ES modules, no build step; uPlot (vendor/uplot, a classic script) draws the charts.
// This is the entry (index.html loads only it): it wires the modules beside it together.
//   connection.js  websocket, reconnect, seq, snapshot/delta in; the #connection badge
//   state.js       the view document (its one owner) and path updates; dirty.js what to redraw
//   frame.js       one render per animation frame and its timings; render.js the frame's work
//   tabs.js        the current tab; charts.js uPlot wrappers and their redraw schedule
//   tables.js      KeyedTable, FeedTable; dom.js, text.js (and format.js) DOM and text helpers
//   views/         overview (health), money, orders, market, prices, latency, research, controls
//
// Stable hooks for browser tests (keep them; tests/browser/ relies on them):
//   #trading-state              its text is the trading state: ACTIVE | REDUCING | HALTED | n/a
//                               (#trading-reason the reason; #state-banner data-state= the same)
//   #connection                 data-state="live" | "reconnecting" (also before the first
//                               connection); data-attempt and the text give the attempt count
//   [data-tab=overview|orders|market|latency|research|controls]   the tab buttons; the current
//                               one has aria-selected="true" and class "active" (panels:
//                               [data-panel=<name>], ids #panel-<name>); keys 1-6 switch too
//   [data-testid=services] tr[data-service=<name>]        (Overview)
//   [data-testid=positions] tr[data-symbol=<symbol>]      (Overview)
//   [data-testid=strategies] tr[data-strategy=<id>]       (Overview)
//   [data-testid=alerts] tr[data-code][data-severity]     (Overview, newest first)
//   [data-testid=working-orders] tr[data-order-id=<client_order_id>][data-symbol]  (Orders)
//   [data-testid=fills] tr[data-exec-id]   (Orders, newest first) data-exec-id is the fill's
//                               exec_id when it has one, else "<client_order_id>@<ts_ns>";
//                               data-symbol, data-order-id; the 2nd cell is the symbol
//   [data-testid=denials] tr[data-kind=denied|rejected][data-order-id]  (Orders)
//   [data-testid=market-symbols] tr[data-symbol], [data-testid=ranking] tr[data-symbol],
//   [data-testid=price-charts] .chart-card[data-symbol]   (Market)
//   [data-testid=mm-stages] tr[data-stage]                (Latency)
//   [data-testid=reports] tr[data-report] a[href="/reports/<name>"] (Research; loaded when
//                               the tab is first shown, #reports-reload again)
//   #token (password input), #halt, #resume, #cancel-all, .flatten[data-symbol] (one per open
//                               position, Controls tab only)
//   #confirm (the <dialog>, open while asking), #confirm-yes, #confirm-no
//   #control-result             the last control's outcome: data-status = the HTTP status
//                               ("0": not sent: no token typed, or cancelled in the dialog,
//                               or controls disabled), data-ok = "true" | "false"
//   #readonly-notice            shown when settings.controls_enabled is not true (then the
//                               control buttons are disabled)
//   window.__dashboard          {state (the view), connected (bool), snapshots (count), seq,
//                               reconnects, renderPending (the DOM lags the state),
//                               eventToDomMs (last 10000, ms, recorded in the
//                               rAF callback after the DOM update, for deltas with ts_sent_ns > 0),
//                               renderMs (last 1000 frames' DOM work, ms: the page's own share)}
//
// A control with an empty token is not sent and asks for no confirmation.

import { seq, connected, snapshots, reconnects, startConnection, tickConnection } from './connection.js';
import { state } from './state.js';
import { markAll } from './dirty.js';
import { requestFrame, framePending, eventToDomMs, renderMs } from './frame.js';
import { initViews } from './render.js';
import { initTabs, onTabShown, showTab } from './tabs.js';
import { panelShown, allChartsDirty } from './charts.js';
import { tickHeartbeats, renderAlertCount } from './views/overview.js';
import { renderRankingAge } from './views/market.js';
import { initResearch, researchShown } from './views/research.js';

window.__dashboard = {
  get state() { return state; },
  get connected() { return connected; },
  get snapshots() { return snapshots; },
  get seq() { return seq; },
  get reconnects() { return reconnects; },
  get renderPending() { return framePending(); },  // true: state changes not in the DOM yet
  eventToDomMs,
  renderMs,
};

// heartbeats and the header's age line tick once a second (only those cells)
function tick() {
  tickHeartbeats();
  renderAlertCount();
  renderRankingAge();
  tickConnection();
}

function start() {
  initViews();
  initTabs();
  onTabShown(panelShown);
  onTabShown((name) => { if (name === 'research') researchShown(); });
  initResearch();
  document.addEventListener('visibilitychange', () => { if (!document.hidden) allChartsDirty(); });
  showTab(location.hash.slice(1) || 'overview');
  markAll();
  requestFrame();
  setInterval(tick, 1000);
  startConnection(tick);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

// Rendering batching: state changes request one animation frame; the frame renders the dirty
// parts (render.js) and records how long that took and how old the deltas it showed were.

import { render } from './render.js';

const LATENCY_KEEP = 10000;
export const eventToDomMs = [];
export const renderMs = [];       // how long each frame's DOM work took (the page's own share)
let pendingLatencySent = [];      // ts_sent_ms of deltas applied but not yet rendered
let frameRequested = false;

// true: state changes not in the DOM yet
export function framePending() { return frameRequested; }

export function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(onFrame);
}

// a delta applied: its send time, for eventToDomMs once the frame shows it
export function noteDeltaSent(sentMs) {
  pendingLatencySent.push(sentMs);
  if (pendingLatencySent.length > LATENCY_KEEP) pendingLatencySent.splice(0, pendingLatencySent.length - LATENCY_KEEP);
}

function onFrame() {
  frameRequested = false;
  const t0 = performance.now();
  try {
    render();
  } catch (e) {
    console.error('dashboard render failed', e);
  }
  renderMs.push(performance.now() - t0);
  if (renderMs.length > 1000) renderMs.splice(0, renderMs.length - 1000);
  if (pendingLatencySent.length) {
    const now = Date.now();
    for (const sentMs of pendingLatencySent) eventToDomMs.push(now - sentMs);
    pendingLatencySent = [];
    if (eventToDomMs.length > LATENCY_KEEP) eventToDomMs.splice(0, eventToDomMs.length - LATENCY_KEEP);
  }
}

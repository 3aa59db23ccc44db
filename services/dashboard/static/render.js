// One frame's DOM work: the parts marked dirty since the last frame (dirty.js), each drawn by
// the view that owns it, in a fixed order. frame.js calls render() once per animation frame.

import { takeDirty } from './dirty.js';
import { state, normalise } from './state.js';
import { learnFromView } from './text.js';
import { initOverview, renderBanner, renderHealth, renderStrategies } from './views/overview.js';
import { initMoney, renderMoneyParts } from './views/money.js';
import { initOrders, renderOrders } from './views/orders.js';
import { initMarket, renderMarket } from './views/market.js';
import { initPrices, renderPrices } from './views/prices.js';
import { initLatency, renderLatency } from './views/latency.js';
import { initControls, renderFlatten, renderSettings, renderHaltLabel } from './views/controls.js';

let ready = false;

// build every view's tables and register its charts (equity, latency, prices: in that order)
export function initViews() {
  initOverview();
  initMoney();
  initOrders();
  initMarket();
  initLatency();
  initPrices();
  initControls();
  ready = true;
}

export function render() {
  if (!ready) return;
  const dirty = takeDirty();
  if (!dirty) return;
  const { d, ap } = dirty;
  normalise();
  learnFromView(state);

  if (d.has('settings')) renderSettings();
  if (d.has('banner')) { renderBanner(); renderHaltLabel(); }
  renderHealth(d, ap);
  renderMoneyParts(d);
  if (d.has('positions')) renderFlatten(d.get('positions'));
  renderOrders(d, ap);
  renderMarket(d);
  renderPrices(d);
  if (d.has('strategies')) renderStrategies(d.get('strategies'));
  if (d.has('latency')) renderLatency();
}

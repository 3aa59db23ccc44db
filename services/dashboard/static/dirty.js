// Dirty tracking: which parts of the page a change touched, so a frame redraws only those.
// dirty: part -> true (everything) | Set of keys; appends: list path -> count appended.

const dirty = new Map();
const appends = new Map();

export function mark(part, key) {
  const cur = dirty.get(part);
  if (cur === true) return;
  if (key === undefined || key === null) { dirty.set(part, true); return; }
  if (cur) cur.add(key); else dirty.set(part, new Set([key]));
}
export function markAll() {
  for (const p of ['banner', 'services', 'bus', 'breakers', 'alerts', 'positions', 'money', 'equity',
    'working', 'fills', 'denials', 'market', 'prices', 'ranking', 'strategies', 'latency', 'settings'])
    mark(p);
  appends.clear();
}
function markList(listName, part, op) {
  if (op === 'append' && dirty.get(part) !== true) appends.set(listName, (appends.get(listName) || 0) + 1);
  else { mark(part); appends.delete(listName); }
}

// the parts to redraw and the appends to show since the last call, or null when nothing changed
export function takeDirty() {
  if (dirty.size === 0 && appends.size === 0) return null;
  const d = new Map(dirty);
  const ap = new Map(appends);
  dirty.clear();
  appends.clear();
  return { d, ap };
}

export function markPath(path, op, value, sym) {
  const [a, b, c] = path;
  if (path.length === 0) { markAll(); return; }
  switch (a) {
    case 'settings': mark('settings'); break;
    case 'generated_ns': break;
    case 'health':
      if (b === 'services') mark('services', path.length > 2 ? c : undefined);
      else if (b === 'bus' || b === 'metrics_errors') mark('bus');
      else if (b === 'breakers') mark('breakers');
      else if (b === 'trading_state' || b === 'trading_reason' || b === 'reconciled') mark('banner');
      else { mark('services'); mark('bus'); mark('breakers'); mark('banner'); }
      break;
    case 'alerts':
      if (path.length === 1) markList('alerts', 'alerts', op); else mark('alerts');
      break;
    case 'money':
      if (b === 'positions') { mark('positions', path.length > 2 ? c : undefined); mark('money'); mark('market', path.length > 2 ? c : undefined); }
      else if (b === 'equity' || b === 'realised_pnl') { mark('equity'); mark('money'); }
      else if (b === undefined) { mark('positions'); mark('money'); mark('equity'); mark('market'); }
      else mark('money');
      break;
    case 'orders':
      if (b === 'working') {
        // sym: the order's symbol (looked up before a delete); a symbol's row and chart only
        mark('working', path.length > 2 ? c : undefined);
        mark('strategies');  // their working-order counts
        mark('market', sym || undefined);
        mark('prices', sym || undefined);
      } else if (b === 'fills') {
        if (path.length === 2) markList('orders.fills', 'fills', op); else mark('fills');
        if (op === 'append' && value && value.symbol) mark('prices', value.symbol); else mark('prices');
      } else if (b === 'denials') {
        if (path.length === 2) markList('orders.denials', 'denials', op); else mark('denials');
      } else { mark('working'); mark('fills'); mark('denials'); mark('market'); mark('prices'); }
      break;
    case 'market':
      if (b === 'symbols') {
        if (path.length > 2) {
          const field = path[3];
          if (field === 'prices') mark('prices', c);
          else { mark('market', c); mark('touch', c); if (field === undefined) mark('prices', c); }
        } else { mark('market'); mark('touch'); mark('prices'); }
      } else if (b === 'ranking' || b === 'mm_selection') { mark('ranking'); mark('market'); }
      else { mark('market'); mark('touch'); mark('prices'); mark('ranking'); }
      break;
    case 'strategies': mark('strategies', path.length > 1 ? b : undefined); break;
    case 'latency': mark('latency'); break;
    default: break;
  }
}

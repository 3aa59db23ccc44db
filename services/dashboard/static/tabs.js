// The tabs: which panel shows (one owner: activeTab), the buttons, keys 1-6 and the #hash.
// Modules that care when a panel is shown register with onTabShown.

export const TABS = ['overview', 'orders', 'market', 'latency', 'research', 'controls'];
export let activeTab = 'overview';
const shownHooks = [];

export function onTabShown(fn) { shownHooks.push(fn); }

export function showTab(name) {
  if (!TABS.includes(name)) name = 'overview';
  activeTab = name;
  for (const b of document.querySelectorAll('[data-tab]')) {
    const on = b.dataset.tab === name;
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    b.classList.toggle('active', on);
  }
  for (const p of document.querySelectorAll('[data-panel]')) p.classList.toggle('hidden', p.dataset.panel !== name);
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  for (const fn of shownHooks) fn(name);
}

export function initTabs() {
  for (const b of document.querySelectorAll('[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || (t.closest && t.closest('dialog')))) return;
    const i = '123456'.indexOf(e.key);
    if (i >= 0) showTab(TABS[i]);
  });
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));
}

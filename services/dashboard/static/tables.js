// Incremental tables: KeyedTable over an object {key: item} and FeedTable over a bounded
// list shown newest first. Cells are written only when their text or class changes.

import { cell, setCls, emptyRow } from './dom.js';

function cmpKeys(a, b) {
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

// A table over an object {key: item}: rows keyed, cells written only when their text changes,
// and on a partial update only the changed keys are visited.
export class KeyedTable {
  constructor(tbody, opts) {
    this.tbody = tbody;
    this.cols = opts.cols;                  // [(key, item) => spec]
    this.rowAttr = opts.rowAttr;            // attribute name for the key, e.g. 'data-symbol'
    this.rowClass = opts.rowClass || null;  // (key, item) => class
    this.sortKey = opts.sortKey || ((k) => [k]);
    this.filter = opts.filter || null;
    this.extra = opts.extra || null;        // (tr, key, item) => void, after the cells
    this.emptyText = opts.emptyText || 'none';
    this.rows = new Map();
    this.empty = emptyRow(tbody, this.cols.length + (opts.extraCols || 0), this.emptyText);
    tbody.appendChild(this.empty);
  }
  update(obj, keys) {
    obj = obj || {};
    if (keys === true || keys === undefined) {
      for (const k of this.rows.keys()) if (!(k in obj)) this.remove(k);
      for (const k of Object.keys(obj)) this.upsert(k, obj[k]);
    } else {
      for (const k of keys) {
        if (k in obj) this.upsert(k, obj[k]); else this.remove(k);
      }
    }
    const none = this.rows.size === 0;
    if (none && !this.empty.parentNode) this.tbody.appendChild(this.empty);
    else if (!none && this.empty.parentNode) this.empty.remove();
  }
  remove(k) {
    const tr = this.rows.get(k);
    if (tr) { tr.remove(); this.rows.delete(k); }
  }
  upsert(k, item) {
    if (item === null || typeof item !== 'object' || (this.filter && !this.filter(k, item))) { this.remove(k); return; }
    let tr = this.rows.get(k);
    const sk = this.sortKey(k, item);
    if (!tr) {
      tr = document.createElement('tr');
      tr.setAttribute(this.rowAttr, k);
      for (let i = 0; i < this.cols.length; i++) tr.appendChild(document.createElement('td'));
      tr.__sk = sk;
      this.insertSorted(tr);
      this.rows.set(k, tr);
    } else if (cmpKeys(tr.__sk, sk) !== 0) {
      tr.__sk = sk;
      tr.remove();
      this.insertSorted(tr);
    }
    const tds = tr.children;
    for (let i = 0; i < this.cols.length; i++) cell(tds[i], this.cols[i](k, item));
    if (this.rowClass) setCls(tr, this.rowClass(k, item));
    if (this.extra) this.extra(tr, k, item);
  }
  insertSorted(tr) {
    let node = this.tbody.firstElementChild;
    while (node) {
      if (node.__sk && cmpKeys(tr.__sk, node.__sk) < 0) { this.tbody.insertBefore(tr, node); return; }
      node = node.nextElementSibling;
    }
    this.tbody.appendChild(tr);
  }
}

// A table over a bounded list, newest first: appends insert at the top, the oldest fall off.
export class FeedTable {
  constructor(tbody, opts) {
    this.tbody = tbody;
    this.bound = opts.bound;
    this.build = opts.build;              // (item) => tr
    this.empty = emptyRow(tbody, opts.colspan, opts.emptyText || 'none');
    tbody.appendChild(this.empty);
  }
  rebuild(list) {
    list = Array.isArray(list) ? list : [];
    const frag = document.createDocumentFragment();
    const start = Math.max(0, list.length - this.bound);
    for (let i = list.length - 1; i >= start; i--) frag.appendChild(this.build(list[i], true));
    this.tbody.textContent = '';
    this.tbody.appendChild(list.length ? frag : this.empty);
  }
  append(list, n) {
    list = Array.isArray(list) ? list : [];
    if (this.empty.parentNode) this.empty.remove();
    n = Math.min(n, list.length, this.bound);
    const frag = document.createDocumentFragment();
    for (let i = list.length - 1; i >= list.length - n; i--) frag.appendChild(this.build(list[i], false));
    this.tbody.insertBefore(frag, this.tbody.firstChild);
    while (this.tbody.children.length > this.bound) this.tbody.lastElementChild.remove();
    if (!this.tbody.firstChild) this.tbody.appendChild(this.empty);
  }
}

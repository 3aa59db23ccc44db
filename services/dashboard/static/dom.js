// DOM helpers shared by the views: writes that touch the DOM only when the text or class
// changes, and table cells and rows built from specs.

import { NA } from './format.js';

export const $ = (id) => document.getElementById(id);
export function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }
export function setCls(el, cls) { if (el && el.className !== cls) el.className = cls; }
export function cell(td, spec) {
  // spec: string | {t: text, c: class, title}
  let t, c = '', title;
  if (spec !== null && typeof spec === 'object') { t = spec.t; c = spec.c || ''; title = spec.title; } else t = spec;
  if (t === null || t === undefined) t = NA;
  if (td.__t !== t) { td.textContent = t; td.__t = t; }
  if (td.__c !== c) { td.className = c; td.__c = c; }
  if (title !== undefined && td.title !== title) td.title = title;
}
export function emptyRow(tbody, colspan, text) {
  const tr = document.createElement('tr');
  tr.className = 'empty';
  const td = document.createElement('td');
  td.colSpan = colspan;
  td.textContent = text;
  tr.appendChild(td);
  return tr;
}
export function tr(cells, attrs, cls) {
  const row = document.createElement('tr');
  if (attrs) for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) row.setAttribute(k, attrs[k]);
  if (cls) row.className = cls;
  for (const spec of cells) {
    const td = document.createElement('td');
    cell(td, spec);
    row.appendChild(td);
  }
  return row;
}

// The page's elements by id, and the small elements every table and panel builds.

import { formatTime, label } from './format.js';

export const el = (id) => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`dashboard: #${id} is missing from the page`);
  return found;
};

export function timeElement(value, timeStyle) {
  const t = document.createElement('time');
  const date = new Date(value);
  if (!Number.isNaN(date.getTime())) {
    t.dateTime = date.toISOString();
    t.title = date.toLocaleString();
  }
  t.textContent = formatTime(value, timeStyle);
  return t;
}

export function badge(status) {
  const span = document.createElement('span');
  span.className = 'badge';
  span.dataset.status = status;
  span.textContent = label(status);
  return span;
}

export function setBadge(span, status) {
  span.dataset.status = status;
  span.textContent = label(status);
}

export function cell(content, tag = 'td') {
  const c = document.createElement(tag);
  if (tag === 'th') c.scope = 'row';
  if (content instanceof Node) c.append(content);
  else c.textContent = content ?? '';
  return c;
}

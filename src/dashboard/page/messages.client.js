// Messages to the user: the polite status line and the alert region.

import { el } from './dom.js';

export function announce(text) {
  el('status').textContent = text;
}

export function showAlert(text) {
  el('alert-text').textContent = text;
  el('alert').hidden = false;
}

export function hideAlert() {
  el('alert').hidden = true;
  el('alert-text').textContent = '';
}

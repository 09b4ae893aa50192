// The one EventSource the page learns about changes from (no polling), and the live indicator.

import { el } from './dom.js';

let source;
let connection = 'connecting';
let handlers;

/**
 * Connects, and connects again when Reconnect is clicked. `onRun(summary)` and
 * `onBusiness(load)` take the events in; `onReconnected()` is called when the stream is live again
 * after a break, in which runs that ended were not sent.
 */
export function startLiveEvents(eventHandlers) {
  handlers = eventHandlers;
  el('reconnect').addEventListener('click', connectEvents);
  connectEvents();
}

function setConnection(next) {
  const previous = connection;
  connection = next;
  const box = el('connection');
  box.dataset.state = next;
  el('connection-text').textContent =
    next === 'live'
      ? 'Live'
      : next === 'reconnecting'
        ? 'Reconnecting…'
        : next === 'closed'
          ? 'Not connected'
          : 'Connecting…';
  el('reconnect').hidden = next !== 'closed';
  if (next === 'live' && (previous === 'reconnecting' || previous === 'closed')) handlers.onReconnected();
}

function connectEvents() {
  source?.close();
  setConnection('connecting');
  const opened = new EventSource('api/events');
  source = opened;
  opened.addEventListener('open', () => setConnection('live'));
  opened.addEventListener('error', () => {
    if (source !== opened) return;
    setConnection(opened.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });
  opened.addEventListener('run', (event) => {
    const run = parseEvent(event);
    if (run && typeof run.runId === 'string') handlers.onRun(run);
  });
  opened.addEventListener('business', (event) => {
    const load = parseEvent(event);
    if (load && typeof load.businessId === 'string') handlers.onBusiness(load);
  });
}

function parseEvent(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return undefined;
  }
}

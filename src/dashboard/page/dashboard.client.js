// The dashboard page's script, served at assets/dashboard.js: plain ES2020 modules, no build step,
// each served at assets/<name>.js and imported by relative URL. The page talks to the API of
// docs/dashboard.md through relative URLs (any basePath works), renders data with textContent
// only, and learns about changes from one EventSource (no polling). This module wires the parts.

import { el } from './dom.js';
import { initJobsTable } from './jobs-table.js';
import { startLiveEvents } from './live-events.js';
import { hideAlert } from './messages.js';
import {
  initRunDetail,
  refreshSelected,
  selectRun,
  showBusinessLoad,
  showSelectedRunChange,
} from './run-detail.js';
import { applyRunChange, onRunChange, selectedRunId } from './run-store.js';
import { initRunsList, loadRuns, showRunInList } from './runs-list.js';
import { initStartForm } from './start-form.js';

function runFromHash() {
  const match = /^#run=(.+)$/.exec(location.hash);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

function init() {
  // A run's change reaches its row first, then the panel (which may read the jobs again).
  onRunChange(showRunInList);
  onRunChange(showSelectedRunChange);
  initRunDetail();
  el('alert-close').addEventListener('click', hideAlert);
  initStartForm();
  initRunsList((runId) => selectRun(runId, true));
  initJobsTable();
  startLiveEvents({
    onRun: applyRunChange,
    onBusiness: showBusinessLoad,
    // Runs that ended while the stream was down are no longer sent: read the one on show again.
    onReconnected: () => void refreshSelected(),
  });
  void loadRuns(false);
  const runId = runFromHash();
  if (runId) void selectRun(runId, false);
  // A link or the address bar naming another run (#run=<id>) selects it.
  window.addEventListener('hashchange', () => {
    const named = runFromHash();
    if (named && named !== selectedRunId()) void selectRun(named, true);
  });
}

init();

// The selected run's panel: its progress bar and counts, the live calls of the run and of its
// business, and its controls (pause, resume, stop with its confirmation dialog).

import { ApiError, api, describeError } from './api.js';
import { el, setBadge, timeElement } from './dom.js';
import { count, label } from './format.js';
import { clearJobsFilter, closeJob, loadJobs } from './jobs-table.js';
import { announce, showAlert } from './messages.js';
import {
  finishedOf,
  IN_FLIGHT,
  SEGMENTS,
  segmentCount,
  segmentedBar,
  setSegmentWidths,
} from './run-segments.js';
import { applyRunChange, isFinal, selectedRun, selectedRunId, setSelectedRunId } from './run-store.js';
import { markSelectedRow } from './runs-list.js';

/** BusinessLoad by business id, from `business` events and GET api/businesses/:id. */
const businesses = new Map();
/** Whether a pause, resume or stop is under way (the controls are disabled meanwhile). */
let acting = false;

/** Builds the bar and the counts, wires the controls and shows the panel (empty until a run is selected). */
export function initRunDetail() {
  buildDetail();
  el('action-pause').addEventListener('click', () => runAction('pause'));
  el('action-resume').addEventListener('click', () => runAction('resume'));
  el('action-stop').addEventListener('click', () => askStop(false));
  el('action-stop-hangup').addEventListener('click', () => askStop(true));
  el('stop-dialog').addEventListener('close', onStopDialogClose);
  renderDetail();
}

/** Selects the run `runId`: shows it and reads it and its jobs afresh; `moveFocus` takes the focus to the panel. */
export async function selectRun(runId, moveFocus) {
  const previous = selectedRunId();
  setSelectedRunId(runId);
  markSelectedRow();
  history.replaceState(null, '', `#run=${encodeURIComponent(runId)}`);
  renderDetail();
  if (previous !== runId) {
    closeJob();
    clearJobsFilter();
  }
  if (moveFocus) el('detail-heading').focus();
  await Promise.all([refreshSelected(), loadJobs(false)]);
}

/** A change of a run (see run-store's onRunChange): shown when it is the selected one. */
export function showSelectedRunChange(run, shown) {
  if (selectedRunId() !== run.runId) return;
  renderDetail();
  const statusChanged = shown !== undefined && shown.status !== run.status;
  // The last calls of a paused or stopped run ended: its jobs hold still from now on.
  const settled = run.status !== 'running' && (shown?.active ?? 0) > 0 && run.active === 0;
  if (statusChanged) announce(`Run ${run.runId} is ${label(run.status).toLowerCase()}.`);
  // The jobs' statuses moved with the run's: one fresh read, not one per event.
  if (statusChanged || settled) void loadJobs(false);
}

/** A business's live calls, from the event stream. */
export function showBusinessLoad(load) {
  businesses.set(load.businessId, load);
  renderBusinessLoad();
}

/** Reads the selected run (and its business) again, if there is one. */
export async function refreshSelected() {
  const runId = selectedRunId();
  if (!runId) return;
  try {
    const { data } = await api(`api/runs/${encodeURIComponent(runId)}`);
    if (selectedRunId() !== runId) return;
    applyRunChange(data);
    renderDetail();
    await refreshBusiness(data.businessId);
  } catch (err) {
    if (selectedRunId() !== runId) return;
    if (err instanceof ApiError && err.status === 404) {
      setSelectedRunId(undefined);
      history.replaceState(null, '', `${location.pathname}${location.search}`);
      renderDetail();
      showAlert(`Run ${runId} was not found.`);
    } else showAlert(`Could not read run ${runId}: ${describeError(err)}`);
  }
}

function buildDetail() {
  segmentedBar(undefined, el('progress'));
  const list = el('counts');
  for (const segment of SEGMENTS) {
    const item = document.createElement('li');
    item.dataset.segment = segment.key;
    const swatch = document.createElement('span');
    swatch.className = `swatch seg-${segment.key}`;
    swatch.setAttribute('aria-hidden', 'true');
    const name = document.createElement('span');
    name.className = 'count-label';
    name.textContent = segment.label;
    const value = document.createElement('strong');
    value.className = 'count-value';
    const extra = document.createElement('span');
    extra.className = 'count-extra';
    item.append(swatch, name, ' ', value, extra);
    list.append(item);
  }
}

function renderDetail() {
  const run = selectedRun();
  el('detail-empty').hidden = run !== undefined;
  el('detail-body').hidden = run === undefined;
  if (!run) {
    el('detail-heading').textContent = 'Run';
    return;
  }
  el('detail-heading').textContent = `Run ${run.runId}`;
  setBadge(el('detail-status'), run.status);
  el('detail-business').textContent = run.businessId;
  el('detail-concurrency').textContent = count(run.concurrency);
  el('detail-created').replaceChildren(timeElement(run.createdAt));
  el('detail-finished-row').hidden = !run.finishedAt;
  el('detail-finished').replaceChildren(run.finishedAt ? timeElement(run.finishedAt) : '');

  const total = run.total;
  const finished = finishedOf(run);
  const parts = SEGMENTS.map((s) => ({ segment: s, n: segmentCount(run, s) }));
  const canceled = run.counts?.canceled ?? 0;
  el('progress-label').textContent =
    `${count(finished)} of ${count(total)} finished` +
    (canceled ? `, ${count(canceled)} of them canceled` : '');
  const bar = el('progress');
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(finished));
  const summary = parts
    .filter((p) => p.n > 0)
    .map((p) => `${count(p.n)} ${p.segment.label.toLowerCase()}`)
    .join(', ');
  bar.setAttribute(
    'aria-valuetext',
    `${count(finished)} of ${count(total)} finished${summary ? `: ${summary}` : ''}`,
  );
  setSegmentWidths(bar, run);
  for (const p of parts) {
    const item = el('counts').querySelector(`[data-segment="${p.segment.key}"]`);
    item.querySelector('.count-value').textContent = count(p.n);
    item.classList.toggle('zero', p.n === 0);
    item.querySelector('.count-extra').textContent =
      p.segment.key === 'in_flight' && p.n > 0
        ? ` (${IN_FLIGHT.filter((s) => run.counts[s] > 0)
            .map((s) => `${count(run.counts[s])} ${label(s).toLowerCase()}`)
            .join(', ')})`
        : '';
  }
  renderWaiting(run);
  el('run-live').textContent = `Live calls of this run: ${count(run.active)} of ${count(run.concurrency)}.`;
  renderBusinessLoad();
  renderActions(run);
}

function renderWaiting(run) {
  const w = run.waiting;
  const parts = [];
  if (w?.retry) parts.push(`${count(w.retry)} wait for a retry`);
  if (w?.scheduled) parts.push(`${count(w.scheduled)} are scheduled for later`);
  if (w?.window) parts.push(`${count(w.window)} wait for their calling window`);
  if (w?.cap) parts.push(`${count(w.cap)} are at the contact cap`);
  const p = el('waiting-text');
  p.hidden = parts.length === 0;
  p.textContent = parts.length ? `Of the queued jobs, ${parts.join(', ')}.` : '';
}

function renderBusinessLoad() {
  const run = selectedRun();
  const text = el('business-live');
  const load = run ? businesses.get(run.businessId) : undefined;
  if (!load) text.textContent = '';
  else if (load.limit === 0 && load.active === 0)
    text.textContent = `Business ${load.businessId}: no live calls, no live run.`;
  else
    text.textContent = `Business ${load.businessId}: ${count(load.active)} of ${count(load.limit)} live calls, ${count(load.waiting)} waiting.`;
}

function renderActions(run) {
  const final = isFinal(run);
  const idle = !acting;
  el('action-pause').disabled = !(idle && run.status === 'running');
  el('action-resume').disabled = !(idle && run.status === 'paused');
  el('action-stop').disabled = !(idle && !final);
  el('action-stop-hangup').disabled = !(idle && !final);
}

async function refreshBusiness(businessId) {
  try {
    const { data } = await api(`api/businesses/${encodeURIComponent(businessId)}`);
    businesses.set(businessId, {
      businessId,
      active: data.active,
      limit: data.limit,
      waiting: data.waiting,
    });
    renderBusinessLoad();
  } catch (err) {
    showAlert(`Could not read business ${businessId}: ${describeError(err)}`);
  }
}

async function runAction(action, body) {
  const run = selectedRun();
  if (!run || acting) return;
  acting = true;
  renderActions(run);
  const done = { pause: 'paused', resume: 'resumed', stop: 'stopped' }[action];
  try {
    const { data } = await api(`api/runs/${encodeURIComponent(run.runId)}/${action}`, {
      method: 'POST',
      body: body ?? {},
    });
    applyRunChange(data);
    announce(`Run ${run.runId} ${done}${body?.hangup ? ', calls in progress hung up' : ''}.`);
  } catch (err) {
    showAlert(`Could not ${action} run ${run.runId}: ${describeError(err)}`);
  } finally {
    acting = false;
    const now = selectedRun();
    if (now) renderActions(now);
    // The button used may be disabled now (a paused run cannot be paused): keep focus in the panel.
    const active = document.activeElement;
    if (!active || active === document.body || active.disabled) el('detail-heading').focus();
  }
}

function askStop(hangup) {
  const run = selectedRun();
  if (!run) return;
  const dialog = el('stop-dialog');
  dialog.dataset.hangup = hangup ? 'true' : 'false';
  el('stop-dialog-title').textContent = hangup ? 'Stop this run and hang up?' : 'Stop this run?';
  const queued = run.counts?.queued ?? 0;
  const live = run.active ?? 0;
  el('stop-dialog-text').textContent =
    `Run ${run.runId}: its ${count(queued)} queued jobs are canceled and no new call is placed. ` +
    (hangup
      ? `Its ${count(live)} calls in progress are hung up now.`
      : `Its ${count(live)} calls in progress end on their own.`) +
    ' A stopped run cannot be resumed.';
  el('stop-confirm').textContent = hangup ? 'Stop and hang up' : 'Stop run';
  dialog.returnValue = '';
  dialog.showModal();
  el('stop-cancel').focus();
}

function onStopDialogClose() {
  const dialog = el('stop-dialog');
  if (dialog.returnValue !== 'confirm') return;
  const hangup = dialog.dataset.hangup === 'true';
  void runAction('stop', hangup ? { hangup: true } : {});
}

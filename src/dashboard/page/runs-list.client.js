// The runs table: its filter, its pages (Older runs), and a row per run kept up to date.

import { api, describeError, query } from './api.js';
import { badge, cell, el, setBadge, timeElement } from './dom.js';
import { count } from './format.js';
import { announce, showAlert } from './messages.js';
import { finishedOf, segmentedBar, setSegmentWidths } from './run-segments.js';
import { knownRun, rememberListedRun, selectedRunId } from './run-store.js';

const RUNS_PAGE = 25;

/** The rows of the runs table, by run id. */
const rows = new Map();
let filter = { businessId: '', status: [] };
/** The cursor of the next page; undefined when every run of the filter is listed. */
let next;
let latestLoad = 0;
/** Set by {@link initRunsList}, before any row exists. */
let onRunClicked;

/** Wires the filter and the Older runs button; `onSelect(runId)` is called when a run's id is clicked. */
export function initRunsList(onSelect) {
  onRunClicked = onSelect;
  el('runs-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    filter = readRunsFilter();
    void loadRuns(false);
  });
  el('runs-more').addEventListener('click', () => loadRuns(true));
}

/** Shows a changed run: its row is updated, or added when the filter and the pages on show take it. */
export function showRunInList(run) {
  if (rows.has(run.runId)) updateRunRow(run);
  else if (matchesRunsFilter(run) && withinLoadedRuns(run)) insertRunRow(run);
}

/** Shows a run the user just started, even when the list's filter would leave it out. */
export function showStartedRun(run) {
  if (!rows.has(run.runId)) insertRunRow(run);
}

/** Marks the selected run's row, and only it. */
export function markSelectedRow() {
  for (const id of rows.keys()) {
    const run = knownRun(id);
    if (run) updateRunRow(run);
  }
}

function matchesRunsFilter(run) {
  if (filter.businessId && run.businessId !== filter.businessId) return false;
  if (filter.status.length > 0 && !filter.status.includes(run.status)) return false;
  return true;
}

/** A run belongs in the rows on show when it is not older than the last one loaded (or all are loaded). */
function withinLoadedRuns(run) {
  if (next === undefined) return true;
  const body = el('runs-body');
  const last = body.lastElementChild;
  const lastRun = last ? knownRun(last.dataset.runId) : undefined;
  return !lastRun || new Date(run.createdAt) >= new Date(lastRun.createdAt);
}

function createRunRow(run) {
  const tr = document.createElement('tr');
  tr.dataset.runId = run.runId;
  const select = document.createElement('button');
  select.type = 'button';
  select.className = 'link run-id';
  select.textContent = run.runId;
  // Shown cut to the column's width; the whole id is the button's name and its tooltip.
  select.title = run.runId;
  select.addEventListener('click', () => onRunClicked(run.runId));
  const status = badge(run.status);
  // The same segments as the run's bar: a stopped run's canceled jobs never read as done.
  const progress = segmentedBar('mini-bar');
  progress.setAttribute('aria-hidden', 'true');
  const progressText = document.createElement('span');
  progressText.className = 'progress-text';
  const progressCell = document.createElement('td');
  progressCell.className = 'progress-cell';
  progressCell.append(progress, progressText);
  tr.append(
    cell(select, 'th'),
    cell(run.businessId),
    cell(status),
    progressCell,
    cell(timeElement(run.createdAt, 'short')),
  );
  const row = { tr, select, status, progress, progressText };
  rows.set(run.runId, row);
  updateRunRow(run);
  return tr;
}

function updateRunRow(run) {
  const row = rows.get(run.runId);
  if (!row) return;
  setBadge(row.status, run.status);
  const finished = finishedOf(run);
  setSegmentWidths(row.progress, run);
  const canceled = run.counts?.canceled ?? 0;
  row.progressText.textContent = `${count(finished)} of ${count(run.total)}${canceled ? `, ${count(canceled)} canceled` : ''}`;
  const selected = selectedRunId() === run.runId;
  row.tr.classList.toggle('selected', selected);
  if (selected) row.select.setAttribute('aria-current', 'true');
  else row.select.removeAttribute('aria-current');
}

function insertRunRow(run) {
  const body = el('runs-body');
  const tr = createRunRow(run);
  const created = new Date(run.createdAt);
  let before = null;
  for (const other of body.children) {
    const o = knownRun(other.dataset.runId);
    if (o && new Date(o.createdAt) < created) {
      before = other;
      break;
    }
  }
  body.insertBefore(tr, before);
  el('runs-empty').hidden = true;
}

function readRunsFilter() {
  const status = el('runs-status').value;
  return { businessId: el('runs-business').value.trim(), status: status ? status.split(',') : [] };
}

export async function loadRuns(append) {
  const load = ++latestLoad;
  const f = filter;
  const more = el('runs-more');
  more.disabled = true;
  try {
    const { data } = await api(
      `api/runs${query({ businessId: f.businessId, status: f.status, limit: RUNS_PAGE, after: append ? next : undefined })}`,
    );
    if (load !== latestLoad) return;
    const body = el('runs-body');
    if (!append) {
      body.replaceChildren();
      rows.clear();
    }
    for (const run of data.runs) {
      const known = rememberListedRun(run);
      if (!rows.has(run.runId)) body.append(createRunRow(known));
    }
    next = data.next;
    more.hidden = data.next === undefined;
    el('runs-empty').hidden = body.children.length > 0;
    if (append) announce(`${data.runs.length} older runs loaded.`);
  } catch (err) {
    if (load === latestLoad) showAlert(`Could not list the runs: ${describeError(err)}`);
  } finally {
    if (load === latestLoad) more.disabled = false;
  }
}

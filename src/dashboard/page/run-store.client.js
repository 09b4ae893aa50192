// The runs the page knows (the latest summary seen of each) and the one selected. Every summary,
// from the event stream or an API answer, comes in here; the views that show runs are told.

import { finishedOf } from './run-segments.js';

const FINAL_RUN = ['stopped', 'completed'];

/** Every run the page knows, by id. */
const runs = new Map();
/** Called with (summary, the one it replaced) for every summary taken in, in the order added. */
const changeListeners = [];
let selectedId;

export function isFinal(run) {
  return FINAL_RUN.includes(run.status);
}

export function knownRun(runId) {
  return runs.get(runId);
}

export function selectedRunId() {
  return selectedId;
}

export function selectedRun() {
  return selectedId ? runs.get(selectedId) : undefined;
}

export function setSelectedRunId(runId) {
  selectedId = runId;
}

export function onRunChange(listener) {
  changeListeners.push(listener);
}

/**
 * Whether `next` is older news than `shown`: finished jobs never go back to unfinished, and a
 * final run never runs again, so a summary with fewer finished jobs or that un-finishes the run
 * was read before the one on show (an event racing a POST's answer).
 */
function isStale(shown, next) {
  if (!shown) return false;
  if (isFinal(shown) && !isFinal(next)) return true;
  return finishedOf(next) < finishedOf(shown);
}

/** Takes in a run's summary, unless it is older news, and tells the listeners. */
export function applyRunChange(run) {
  const shown = runs.get(run.runId);
  if (isStale(shown, run)) return;
  // listRuns pages carry no `waiting`: keep the last one known.
  const merged = run.waiting === undefined && shown?.waiting ? { ...run, waiting: shown.waiting } : run;
  runs.set(run.runId, merged);
  for (const listener of changeListeners) listener(merged, shown);
}

/** Takes in a summary of a page of runs, without telling the listeners; returns the one kept. */
export function rememberListedRun(run) {
  const shown = runs.get(run.runId);
  const known = isStale(shown, run) ? shown : { ...run, waiting: run.waiting ?? shown?.waiting };
  runs.set(run.runId, known);
  return known;
}

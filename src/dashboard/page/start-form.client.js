// The Start a run form: leads pasted or loaded from a file, each kept with the line it was typed
// on so that the server's problems are told in the user's line numbers; submit and its answer.

import { ApiError, api, describeError } from './api.js';
import { el } from './dom.js';
import { count } from './format.js';
import { announce, showAlert } from './messages.js';
import { selectRun } from './run-detail.js';
import { applyRunChange, knownRun } from './run-store.js';
import { showStartedRun } from './runs-list.js';

const FIELD_LABELS = {
  businessId: 'Business id',
  concurrency: 'Concurrency',
  from: 'Caller id',
  runId: 'Run id',
  leads: 'Leads',
};

const FIELD_INPUTS = {
  businessId: 'start-business',
  concurrency: 'start-concurrency',
  from: 'start-from',
  runId: 'start-run-id',
  leads: 'start-leads',
};

let starting = false;
/** The run id sent with the form until it succeeds or its input changes: a retry is idempotent. */
let pendingRunId;

/** Wires the form's submit, its inputs and its file picker. */
export function initStartForm() {
  el('start-form').addEventListener('submit', onStart);
  el('start-form').addEventListener('input', onStartInput);
  el('start-file').addEventListener('change', onLeadsFile);
}

/**
 * The leads of the textarea, each with the line the user typed it on (1-based, blank and header
 * lines counted), so the server's row indexes can be told back as the user's line numbers.
 */
function parseLeads(text) {
  const leads = [];
  const lines = [];
  let first = true;
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const cells = raw.split(/[,\t;]/).map((c) =>
      c
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
    const isHeader = first && !/\d/.test(cells[0]);
    first = false;
    if (isHeader) return;
    const lead = { to: cells[0] };
    if (cells[1]) lead.leadId = cells[1];
    leads.push(lead);
    lines.push(i + 1);
  });
  return { leads, lines };
}

function newRunId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; a dashboard on plain http still gets a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function lineOf(parsed, row) {
  return typeof row === 'number' && row >= 0 && row < parsed.lines.length ? parsed.lines[row] : undefined;
}

/** One sentence per problem, in the user's line numbers (not the server's row indexes). */
function issueText(issue, parsed) {
  const line = lineOf(parsed, issue.row);
  const field = String(issue.field ?? '');
  if (issue.row === undefined || line === undefined) {
    const name = FIELD_LABELS[field] ?? field;
    return `${name}: ${issue.message}`;
  }
  const lead = parsed.leads[issue.row];
  if (issue.duplicateOf !== undefined) {
    const firstLine = lineOf(parsed, issue.duplicateOf) ?? issue.duplicateOf + 1;
    if (field === 'leadId') return `Line ${line} repeats the lead id ${lead.leadId} of line ${firstLine}`;
    return `Line ${line} repeats line ${firstLine} (${lead.to})`;
  }
  if (field === 'to') {
    return `Line ${line}: ${lead.to || '(empty)'} is not a phone number (write it as + and the country code, e.g. +14155550101)`;
  }
  return `Line ${line}: ${field} ${issue.message}`;
}

function clearStartErrors() {
  el('start-errors').hidden = true;
  el('start-errors-list').replaceChildren();
  for (const id of Object.values(FIELD_INPUTS)) {
    const input = el(id);
    input.removeAttribute('aria-invalid');
    const describedBy = (input.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((x) => x && x !== 'start-errors');
    if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

function showStartErrors(title, messages, fields) {
  el('start-errors-title').textContent = title;
  const list = el('start-errors-list');
  list.replaceChildren();
  for (const message of messages) {
    const li = document.createElement('li');
    li.textContent = message;
    list.append(li);
  }
  for (const field of fields) {
    const id = FIELD_INPUTS[field];
    if (!id) continue;
    const input = el(id);
    input.setAttribute('aria-invalid', 'true');
    const describedBy = (input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
    if (!describedBy.includes('start-errors')) describedBy.push('start-errors');
    input.setAttribute('aria-describedby', describedBy.join(' '));
  }
  const box = el('start-errors');
  box.hidden = false;
  box.focus();
}

function updateLeadCount() {
  const n = parseLeads(el('start-leads').value).leads.length;
  el('start-lead-count').textContent = n === 0 ? '' : n === 1 ? '1 lead' : `${count(n)} leads`;
}

function setStarting(next) {
  starting = next;
  const button = el('start-submit');
  button.disabled = next;
  button.textContent = next ? 'Starting…' : 'Start run';
  el('start-form').setAttribute('aria-busy', next ? 'true' : 'false');
}

async function onStart(event) {
  event.preventDefault();
  if (starting) return;
  clearStartErrors();
  const parsed = parseLeads(el('start-leads').value);
  if (parsed.leads.length === 0) {
    showStartErrors('The run was not started.', ['Paste or load at least one lead.'], ['leads']);
    return;
  }
  const typedRunId = el('start-run-id').value.trim();
  if (!typedRunId && pendingRunId === undefined) pendingRunId = newRunId();
  const runId = typedRunId || pendingRunId;
  const concurrency = el('start-concurrency').value.trim();
  const from = el('start-from').value.trim();
  const body = {
    businessId: el('start-business').value.trim(),
    concurrency: concurrency === '' ? undefined : Number(concurrency),
    leads: parsed.leads,
    runId,
  };
  if (from) body.from = from;
  setStarting(true);
  try {
    const { status, data: run } = await api('api/runs', { method: 'POST', body });
    pendingRunId = undefined;
    el('start-leads').value = '';
    el('start-run-id').value = '';
    el('start-file').value = '';
    updateLeadCount();
    const { created: _created, ...summary } = run;
    applyRunChange(summary);
    showStartedRun(knownRun(summary.runId));
    announce(
      status === 201
        ? `Run ${summary.runId} started with ${count(summary.total)} leads.`
        : `Run ${summary.runId} had already been started with this input; it is shown.`,
    );
    await selectRun(summary.runId, false);
  } catch (err) {
    if (err instanceof ApiError && err.status === 400 && err.issues && err.issues.length > 0) {
      const messages = [...new Set(err.issues.map((issue) => issueText(issue, parsed)))];
      const more = (err.issueCount ?? err.issues.length) - err.issues.length;
      if (more > 0) messages.push(`…and ${count(more)} more problems.`);
      const fields = err.issues.map((i) => (i.row === undefined ? String(i.field) : 'leads'));
      const n = err.issueCount ?? err.issues.length;
      showStartErrors(
        `The run was not started: ${n === 1 ? '1 problem' : `${count(n)} problems`} to fix.`,
        messages,
        fields,
      );
    } else {
      showAlert(`Could not start the run: ${describeError(err)}`);
    }
  } finally {
    setStarting(false);
  }
}

function onLeadsFile() {
  const input = el('start-file');
  const file = input.files?.[0];
  if (!file) return;
  const reader = new FileReader();
  reader.addEventListener('load', () => {
    el('start-leads').value = String(reader.result ?? '');
    onStartInput();
    const n = parseLeads(el('start-leads').value).leads.length;
    announce(`Loaded ${file.name}: ${count(n)} leads.`);
  });
  reader.addEventListener('error', () => showAlert(`Could not read ${file.name}.`));
  reader.readAsText(file);
}

function onStartInput() {
  // A changed input is a new submission: it gets a new run id (the old one would conflict).
  pendingRunId = undefined;
  updateLeadCount();
}

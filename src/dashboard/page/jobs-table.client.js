// The jobs of the selected run (filtered by status, paged) and one job's attempts.

import { api, describeError, query } from './api.js';
import { badge, cell, el, setBadge, timeElement } from './dom.js';
import { count, formatDuration } from './format.js';
import { showAlert } from './messages.js';
import { selectedRunId } from './run-store.js';

const JOBS_PAGE = 50;

/** The listing on show: whose jobs, with which statuses, the next page's cursor, the latest read. */
const jobs = { runId: undefined, status: [], next: undefined, load: 0 };
/** The latest read of one job: an answer to an older one is dropped. */
let jobLoad = 0;

/** Wires the status filter, Show more and the job panel's Close. */
export function initJobsTable() {
  el('jobs-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    closeJob();
    void loadJobs(false);
  });
  el('jobs-more').addEventListener('click', () => loadJobs(true));
  el('job-close').addEventListener('click', () => {
    closeJob();
    el('jobs-heading').focus();
  });
}

/** Forgets the status filter (another run was selected). */
export function clearJobsFilter() {
  el('jobs-status').value = '';
}

/** Lists the selected run's jobs again (`append`: the next page of the listing on show). */
export async function loadJobs(append) {
  const runId = selectedRunId();
  if (!runId) return;
  if (!append || jobs.runId !== runId) {
    jobs.runId = runId;
    const status = el('jobs-status').value;
    jobs.status = status ? status.split(',') : [];
    jobs.next = undefined;
  }
  const load = ++jobs.load;
  const more = el('jobs-more');
  more.disabled = true;
  try {
    const { data } = await api(
      `api/runs/${encodeURIComponent(runId)}/jobs${query({ status: jobs.status, limit: JOBS_PAGE, after: append ? jobs.next : undefined })}`,
    );
    if (load !== jobs.load || selectedRunId() !== runId) return;
    const body = el('jobs-body');
    if (!append) body.replaceChildren();
    for (const job of data.jobs) body.append(jobRow(job));
    jobs.next = data.next;
    more.hidden = data.next === undefined;
    el('jobs-empty').hidden = body.children.length > 0;
    el('jobs-as-of').textContent =
      `Listed at ${new Date().toLocaleTimeString()}; Show jobs lists them again.`;
  } catch (err) {
    if (load === jobs.load) showAlert(`Could not list the jobs of run ${runId}: ${describeError(err)}`);
  } finally {
    if (load === jobs.load) more.disabled = false;
  }
}

function jobRow(job) {
  const tr = document.createElement('tr');
  tr.dataset.jobId = job.jobId;
  tr.dataset.status = job.status;
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link';
  open.textContent = job.to;
  open.addEventListener('click', () => openJob(job.jobId));
  tr.append(
    cell(open, 'th'),
    cell(job.leadId ?? ''),
    cell(badge(job.status)),
    cell(count(job.attempt)),
    cell(job.errorCode ?? ''),
    cell(formatDuration(job.durationSec)),
  );
  tr.lastElementChild.classList.add('number');
  tr.children[3].classList.add('number');
  return tr;
}

async function openJob(jobId) {
  const load = ++jobLoad;
  try {
    const { data: job } = await api(`api/jobs/${encodeURIComponent(jobId)}`);
    if (load !== jobLoad) return;
    renderJob(job);
  } catch (err) {
    if (load === jobLoad) showAlert(`Could not read job ${jobId}: ${describeError(err)}`);
  }
}

function renderJob(job) {
  el('job-detail').hidden = false;
  el('job-heading').textContent = `Job ${job.to}`;
  setBadge(el('job-status'), job.status);
  el('job-lead').textContent = job.leadId ?? '—';
  el('job-error').textContent = job.errorCode
    ? `${job.errorCode}${job.errorMessage ? `: ${job.errorMessage}` : ''}`
    : 'None';
  const body = el('attempts-body');
  body.replaceChildren();
  const attempts = Array.isArray(job.attempts) ? job.attempts : [];
  for (const a of attempts) {
    const tr = document.createElement('tr');
    tr.append(
      cell(count(a.attempt), 'th'),
      cell(badge(a.status)),
      cell(a.errorCode ?? ''),
      cell(a.errorMessage ?? ''),
      cell(formatDuration(a.durationSec)),
      cell(timeElement(a.startedAt)),
      cell(a.endedAt ? timeElement(a.endedAt) : 'under way'),
    );
    body.append(tr);
  }
  el('attempts-empty').hidden = attempts.length > 0;
  el('job-heading').focus();
}

/** Hides the job panel; an answer still on its way for it is dropped. */
export function closeJob() {
  jobLoad++;
  el('job-detail').hidden = true;
}

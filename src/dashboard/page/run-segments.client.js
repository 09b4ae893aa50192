// A run's job counts as the segments of its progress bar, and the bars drawn from them.

const FINISHED = ['completed', 'busy', 'no_answer', 'failed', 'canceled'];
export const IN_FLIGHT = ['dialing', 'ringing', 'in_progress'];

/** The bar's segments and the per-status counts, in this order; canceled never counts as completed. */
export const SEGMENTS = [
  { key: 'completed', label: 'Completed', statuses: ['completed'] },
  { key: 'busy', label: 'Busy', statuses: ['busy'] },
  { key: 'no_answer', label: 'No answer', statuses: ['no_answer'] },
  { key: 'failed', label: 'Failed', statuses: ['failed'] },
  { key: 'canceled', label: 'Canceled', statuses: ['canceled'] },
  { key: 'in_flight', label: 'In flight', statuses: IN_FLIGHT },
  { key: 'queued', label: 'Queued', statuses: ['queued'] },
];

export function finishedOf(run) {
  return FINISHED.reduce((sum, s) => sum + (run.counts?.[s] ?? 0), 0);
}

export function segmentCount(run, segment) {
  return segment.statuses.reduce((sum, s) => sum + (run.counts?.[s] ?? 0), 0);
}

/** A bar of {@link SEGMENTS}, in `container` or a new span of class `className`. */
export function segmentedBar(className, container = document.createElement('span')) {
  if (className) container.className = className;
  for (const segment of SEGMENTS) {
    const part = document.createElement('span');
    part.className = `segment seg-${segment.key}`;
    part.dataset.segment = segment.key;
    container.append(part);
  }
  return container;
}

export function setSegmentWidths(bar, run) {
  for (const segment of SEGMENTS) {
    const part = bar.querySelector(`[data-segment="${segment.key}"]`);
    // CSSOM writes are allowed by the page's CSP (style-src 'self'); style attributes are not.
    part.style.width = run.total > 0 ? `${(100 * segmentCount(run, segment)) / run.total}%` : '0%';
  }
}

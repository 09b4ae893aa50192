// How the page writes statuses, counts, times and durations.

const STATUS_LABELS = {
  queued: 'Queued',
  dialing: 'Dialing',
  ringing: 'Ringing',
  in_progress: 'In progress',
  completed: 'Completed',
  busy: 'Busy',
  no_answer: 'No answer',
  failed: 'Failed',
  canceled: 'Canceled',
  running: 'Running',
  paused: 'Paused',
  stopped: 'Stopped',
};

export function label(status) {
  return STATUS_LABELS[status] ?? String(status);
}

export function count(n) {
  return Number(n ?? 0).toLocaleString();
}

export function formatTime(value, timeStyle = 'medium') {
  if (value === undefined || value === null) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { dateStyle: 'short', timeStyle });
}

export function formatDuration(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '—';
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  const s = sec % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

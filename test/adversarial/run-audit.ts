import { groupBy, type LogEntry, sweepConcurrency } from './call-log.js';

/** A job row as the test reads it back from the database. */
export interface AuditedJob {
  id: string;
  run_id: string;
  business_id: string;
  lead_id: string | null;
  status: string;
  attempt: number;
  lock_token: string | null;
  call_id: string | null;
  error_code: string | null;
}

/** What the audit found. */
export interface AuditReport {
  /** Every breach of a guarantee, one line each (empty when all hold). */
  violations: string[];
  /** business -> most calls live at once, per the provider. */
  maxLive: Map<string, number>;
  /** Jobs ended `DIAL_OUTCOME_UNKNOWN` whose call was never placed. */
  unknownWithoutCall: number;
  /** Jobs ended `DIAL_OUTCOME_UNKNOWN` whose call was placed by a worker killed before it learned the call id. */
  unknownCallUnrecorded: number;
  /** Calls the provider placed. */
  calls: number;
  /** `dial()` invocations across every worker. */
  dials: number;
}

const JOB_STATUS_OF_END: Record<string, string> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};
const TERMINAL = new Set(['completed', 'busy', 'no_answer', 'failed', 'canceled']);

/**
 * Checks the guarantees from the shared log (what the provider and the workers saw), against the
 * final job rows: every job terminal, `dial()` at most once per job attempt, never more live calls
 * per business than its limit, and every job's end explained by a call or by a crash.
 * @param entries - the shared log
 * @param jobs - every job row of the scenario
 * @param limits - business -> concurrency limit
 * @param killed - pids of the workers the test killed
 * @returns the violations and the figures for the report
 */
export function auditRuns(
  entries: readonly LogEntry[],
  jobs: readonly AuditedJob[],
  limits: ReadonlyMap<string, number>,
  killed: ReadonlySet<number>,
): AuditReport {
  const violations: string[] = [];
  const jobIds = new Set(jobs.map((j) => j.id));
  const provider = entries.filter((e) => e.src === 'provider');
  const worker = entries.filter((e) => e.src === 'worker');
  const starts = provider.filter((e) => e.ev === 'call:start');
  const ends = new Map(provider.filter((e) => e.ev === 'call:end').map((e) => [e.callId, e]));
  const dialStarts = worker.filter((e) => e.ev === 'dial:start');
  const callsByJob = groupBy(starts, (e) => e.jobId ?? '?');
  const dialsByJob = groupBy(dialStarts, (e) => e.jobId ?? '?');
  const dialEnds = groupBy(
    worker.filter((e) => e.ev === 'dial:end'),
    (e) => e.jobId ?? '?',
  );

  // At most once: dial() and the provider's calls, per job attempt, across every process.
  for (const [key, dials] of groupBy(dialStarts, (e) => `${e.jobId}#${e.attempt}`)) {
    if (dials.length > 1)
      violations.push(`dial() ${dials.length}x for ${key} (pids ${dials.map((d) => d.pid)})`);
  }
  for (const [key, calls] of groupBy(starts, (e) => `${e.jobId}#${e.attempt}`)) {
    if (calls.length > 1) violations.push(`${calls.length} calls placed for ${key}`);
  }
  for (const call of starts) {
    if (!jobIds.has(call.jobId ?? '')) violations.push(`call ${call.callId} for unknown job ${call.jobId}`);
  }
  // A dial() the provider never saw happens only when its worker was killed mid-request.
  for (const dial of dialStarts) {
    const placed = (callsByJob.get(dial.jobId ?? '') ?? []).some((c) => c.attempt === dial.attempt);
    if (!placed && !killed.has(dial.pid ?? -1))
      violations.push(`dial() of ${dial.jobId} by live pid ${dial.pid} never reached the provider`);
  }

  // Concurrency, from the provider's own order of call starts and ends.
  const sweep = sweepConcurrency(entries);
  for (const [business, peak] of sweep.maxLive) {
    const limit = limits.get(business);
    if (limit === undefined || peak > limit)
      violations.push(`business ${business}: ${peak} calls live at once, limit ${limit}`);
  }
  if (sweep.unended.length > 0) violations.push(`calls never ended: ${sweep.unended.join(', ')}`);

  // Every job terminal, and its end explained by the log.
  let unknownWithoutCall = 0;
  let unknownCallUnrecorded = 0;
  for (const job of jobs) {
    const calls = callsByJob.get(job.id) ?? [];
    if (!TERMINAL.has(job.status)) {
      violations.push(`job ${job.id} is ${job.status}, not terminal`);
      continue;
    }
    if (job.error_code === 'DIAL_OUTCOME_UNKNOWN' && job.status === 'failed') {
      // Declared unknown: only right when the dialing worker died before it learned the call id.
      const byLiveWorker = (dialsByJob.get(job.id) ?? []).filter(
        (d) => d.lockToken === job.lock_token && !killed.has(d.pid ?? -1),
      );
      if (byLiveWorker.length > 0) {
        violations.push(
          `job ${job.id} declared DIAL_OUTCOME_UNKNOWN while live pid ${byLiveWorker[0]!.pid} dialed it`,
        );
      } else if (calls.length === 0) {
        unknownWithoutCall += 1;
      } else if (
        calls.every((c) => killed.has(c.pid ?? -1)) &&
        !(dialEnds.get(job.id) ?? []).some((d) => calls.some((c) => c.pid === d.pid))
      ) {
        unknownCallUnrecorded += 1;
      } else {
        violations.push(
          `job ${job.id} declared DIAL_OUTCOME_UNKNOWN but call ${calls[0]!.callId} was recorded`,
        );
      }
      continue;
    }
    if (calls.length !== 1) {
      violations.push(`job ${job.id} is ${job.status} (${job.error_code ?? '-'}) with ${calls.length} calls`);
      continue;
    }
    const call = calls[0]!;
    const end = ends.get(call.callId);
    const expected = end ? JOB_STATUS_OF_END[end.status ?? ''] : undefined;
    if (job.status !== expected)
      violations.push(`job ${job.id} is ${job.status} but its call ${call.callId} ended ${end?.status}`);
    if (job.call_id !== call.callId)
      violations.push(`job ${job.id} records call ${job.call_id}, the provider placed ${call.callId}`);
  }

  // The terminal status is recorded once: one job:ended across every process.
  for (const [jobId, ended] of groupBy(
    worker.filter((e) => e.ev === 'job:ended'),
    (e) => e.jobId ?? '?',
  )) {
    if (ended.length > 1)
      violations.push(`job ${jobId} ended ${ended.length}x (pids ${ended.map((e) => e.pid)})`);
  }
  for (const e of worker) {
    if (e.ev === 'crash') violations.push(`worker ${e.pid} crashed: ${e.msg}`);
    if (e.ev === 'log' && e.msg === 'OUTBOUND_LOCK_CONFLICT')
      violations.push(`worker ${e.pid} reported a lock conflict: ${JSON.stringify(e.fields)}`);
  }
  for (const e of provider) {
    if (e.ev === 'event:lost') violations.push(`event ${e.status} of job ${e.jobId} could not be delivered`);
  }

  return {
    violations,
    maxLive: sweep.maxLive,
    unknownWithoutCall,
    unknownCallUnrecorded,
    calls: starts.length,
    dials: dialStarts.length,
  };
}

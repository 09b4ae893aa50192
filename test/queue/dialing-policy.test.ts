import { afterEach, describe, expect, it } from 'vitest';
import type { DialRequest } from '../../src/dialer/dialer.js';
import { DialError, IdempotencyConflictError, ValidationError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { JobEndedEvent } from '../../src/queue/queue-events.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { CallStatus, RunRetryPolicy } from '../../src/types.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer, type RecordingDialerOptions } from '../support/recording-dialer.js';
import { sqliteDb } from '../support/sqlite.js';

const MINUTE = 60_000;

/** Retries by outcome, on a virtual clock: hours of waiting in milliseconds. */
describe('retries by outcome', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function start(options: RecordingDialerOptions, clock = new VirtualClock()) {
    const dialer = new RecordingDialer({ durationMs: 1_000, clock, ...options });
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }) });
    const ended: JobEndedEvent[] = [];
    fx.queue.on('job:ended', (e) => ended.push(e));
    return { dialer, clock, ended, queue: fx.queue };
  }

  /** Advances the clock a minute at a time until the run is completed (or `limitMs` passes). */
  async function finish(clock: VirtualClock, runId: string, limitMs = 24 * 60 * MINUTE) {
    for (let t = 0; t < limitMs; t += MINUTE) {
      await clock.advance(MINUTE);
      if ((await fx!.queue.getRun(runId)).status === 'completed') break;
    }
    return fx!.queue.getRun(runId);
  }

  const byAttempt =
    (...statuses: CallStatus[]) =>
    (req: DialRequest): CallStatus =>
      statuses[req.attempt - 1] ?? 'completed';

  it('calls a busy lead again after the delay, holding no slot meanwhile, and keeps every attempt', async () => {
    const { dialer, clock, ended, queue } = await start({ outcome: byAttempt('busy', 'busy') });
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      leads: leads(2),
      retry: { busy: { maxAttempts: 3, delayMs: 10 * MINUTE } },
    });
    const done = await finish(clock, run.runId);
    expect(done.status).toBe('completed');
    expect(done.counts.completed).toBe(2);
    // Each lead dialed three times; the other lead's calls went in the waits (no slot held).
    expect([...dialer.dialsPerJob().values()]).toEqual([3, 3]);
    expect(dialer.maxConcurrent('b')).toBe(1);
    for (const jobId of dialer.dialsPerJob().keys()) {
      const starts = dialer.calls.filter((c) => c.jobId === jobId).map((c) => c.startedAt);
      for (let i = 1; i < starts.length; i++)
        expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(10 * MINUTE);
      const job = await queue.getJob(jobId);
      expect(job.status).toBe('completed');
      expect(job.attempt).toBe(3);
      expect(job.attempts?.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'busy'],
        [2, 'busy'],
        [3, 'completed'],
      ]);
      expect(job.attempts?.map((a) => a.callId)).toEqual(
        dialer.calls.filter((c) => c.jobId === jobId).map((c) => c.callId),
      );
    }
    // Two attempts ended back in line, then the final one.
    expect(ended.filter((e) => !e.final).map((e) => e.status)).toEqual([
      'queued',
      'queued',
      'queued',
      'queued',
    ]);
    expect(ended.filter((e) => e.final)).toHaveLength(2);
  });

  it('ends a job on its outcome once it used its attempts', async () => {
    const { dialer, clock, queue } = await start({ outcome: () => 'no-answer' });
    const run = await queue.startRun({
      businessId: 'n',
      concurrency: 2,
      leads: leads(3),
      retry: { no_answer: { maxAttempts: 2, delayMs: MINUTE } },
    });
    const done = await finish(clock, run.runId);
    expect(done.counts.no_answer).toBe(3);
    expect([...dialer.dialsPerJob().values()]).toEqual([2, 2, 2]);
  });

  it('waits delayMs × 2^(n-1) before the n-th retry with exponential backoff', async () => {
    const { dialer, clock, queue } = await start({
      outcome: byAttempt('no-answer', 'no-answer', 'no-answer'),
    });
    const run = await queue.startRun({
      businessId: 'e',
      concurrency: 1,
      leads: leads(1),
      retry: { no_answer: { maxAttempts: 4, delayMs: 5 * MINUTE, backoff: 'exponential' } },
    });
    await finish(clock, run.runId);
    const starts = dialer.calls.map((c) => c.startedAt);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]! - 1_000);
    // Each gap is the wait plus at most the minute-sized steps of the test's clock.
    [5, 10, 20].forEach((minutes, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(minutes * MINUTE);
      expect(gaps[i]).toBeLessThan((minutes + 2) * MINUTE);
    });
  });

  it('retries a call answered by a machine under the machine rule, not one answered by a person', async () => {
    const { dialer, clock, queue } = await start({
      answeredBy: (req) => (req.metadata.n === 0 && req.attempt === 1 ? 'machine_end_beep' : 'human'),
    });
    const run = await queue.startRun({
      businessId: 'm',
      concurrency: 2,
      leads: leads(2),
      retry: { machine: { maxAttempts: 2, delayMs: MINUTE } },
    });
    await finish(clock, run.runId);
    const jobs = await queue.listJobs(run.runId);
    const machine = await queue.getJob(jobs[0]!.jobId);
    expect(machine.attempts?.map((a) => [a.status, a.answeredBy])).toEqual([
      ['completed', 'machine_end_beep'],
      ['completed', 'human'],
    ]);
    expect((await queue.getJob(jobs[1]!.jobId)).attempt).toBe(1);
    expect(dialer.calls).toHaveLength(3);
  });

  it('retries a dial the provider refused for good under the failed rule', async () => {
    const clock = new VirtualClock();
    const { dialer, queue } = await start({}, clock);
    const dial = dialer.dial.bind(dialer);
    let refused = 0;
    dialer.dial = async (req, ctx) => {
      if (req.attempt === 1) {
        refused += 1;
        throw new DialError('permanent', 'invalid number', { providerCode: '21211' });
      }
      return dial(req, ctx);
    };
    const run = await queue.startRun({
      businessId: 'f',
      concurrency: 1,
      leads: leads(1),
      retry: { failed: { maxAttempts: 2, delayMs: MINUTE } },
    });
    const done = await finish(clock, run.runId);
    expect(refused).toBe(1);
    expect(done.counts.completed).toBe(1);
    const job = await queue.getJob((await queue.listJobs(run.runId))[0]!.jobId);
    expect(job.attempts?.map((a) => [a.status, a.errorCode])).toEqual([
      ['queued', '21211'],
      ['completed', undefined],
    ]);
  });

  it('cancels a job waiting for its retry when its run is stopped, and dials it no more', async () => {
    const { dialer, clock, queue } = await start({ outcome: () => 'busy' });
    const run = await queue.startRun({
      businessId: 's',
      concurrency: 1,
      leads: leads(1),
      retry: { busy: { maxAttempts: 5, delayMs: 30 * MINUTE } },
    });
    for (let i = 0; i < 5 && dialer.calls.length === 0; i++) await clock.advance(1_000);
    await clock.advance(5_000);
    const waiting = (await queue.listJobs(run.runId))[0]!;
    expect(waiting.status).toBe('queued');
    expect((await queue.getRun(run.runId)).waiting).toEqual({ retry: 1, scheduled: 0, window: 0, cap: 0 });
    expect((await queue.getJob(waiting.jobId)).retryAt?.getTime()).toBeGreaterThan(clock.now());
    const stopped = await queue.stop(run.runId);
    expect(stopped.counts.canceled).toBe(1);
    await clock.advance(60 * MINUTE);
    expect(dialer.calls).toHaveLength(1);
  });

  it('refuses bad rules, naming each field, and writes nothing', async () => {
    const { queue } = await start({});
    const bad = {
      busy: { maxAttempts: 0, delayMs: -1 },
      no_answer: { maxAttempts: 2, delayMs: 1, backoff: 'linear', jitter: 2 },
      voicemail: { maxAttempts: 2, delayMs: 1 },
    } as unknown as RunRetryPolicy;
    const err = await queue
      .startRun({ businessId: 'v', concurrency: 1, leads: leads(1), retry: bad })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field).sort()).toEqual([
      'retry.busy.delayMs',
      'retry.busy.maxAttempts',
      'retry.no_answer.backoff',
      'retry.no_answer.jitter',
      'retry.voicemail',
    ]);
    expect(await queue.listRuns({ businessId: 'v' })).toEqual([]);
  });

  it('treats another retry policy under the same runId as a conflict', async () => {
    const { queue } = await start({});
    const input = { businessId: 'i', concurrency: 1, leads: leads(1), runId: 'same' };
    await queue.startRun({ ...input, retry: { busy: { maxAttempts: 2, delayMs: MINUTE } } });
    await expect(
      queue.startRun({ ...input, retry: { busy: { maxAttempts: 3, delayMs: MINUTE } } }),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    const again = await queue.startRun({ ...input, retry: { busy: { maxAttempts: 2, delayMs: MINUTE } } });
    expect(again.created).toBe(false);
  });

  it('dials no lead of a run before its startAt, and says they are scheduled', async () => {
    const { dialer, clock, queue } = await start({});
    const startAt = new Date(clock.now() + 60 * MINUTE);
    const run = await queue.startRun({ businessId: 'at', concurrency: 2, leads: leads(3), startAt });
    expect(run.waiting).toEqual({ retry: 0, scheduled: 3, window: 0, cap: 0 });
    await clock.advance(59 * MINUTE);
    expect(dialer.calls).toHaveLength(0);
    const done = await finish(clock, run.runId);
    expect(done.counts.completed).toBe(3);
    expect(done.waiting).toEqual({ retry: 0, scheduled: 0, window: 0, cap: 0 });
    expect(Math.min(...dialer.calls.map((c) => c.startedAt))).toBeGreaterThanOrEqual(startAt.getTime());
  });

  it('holds a lead until its own notBefore while the others are dialed', async () => {
    const { dialer, clock, queue } = await start({});
    const later = clock.now() + 30 * MINUTE;
    const list = leads(3);
    list[0] = { ...list[0]!, notBefore: later };
    const run = await queue.startRun({ businessId: 'nb', concurrency: 1, leads: list });
    await finish(clock, run.runId);
    expect(dialer.calls.map((c) => c.metadata.n)).toEqual([1, 2, 0]);
    expect(dialer.calls[2]!.startedAt).toBeGreaterThanOrEqual(later);
  });

  it('refuses a startAt or notBefore that is not an instant', async () => {
    const { queue } = await start({});
    const err = await queue
      .startRun({
        businessId: 'bad-at',
        concurrency: 1,
        startAt: new Date('not a date'),
        leads: [{ ...leads(1)[0]!, notBefore: -5 }],
      })
      .catch((e: unknown) => e);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['startAt', 'notBefore']);
  });

  it('ends a suppressed job canceled with SUPPRESSED and its reason, without a call', async () => {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 1_000, clock });
    const asked: string[] = [];
    fx = await startQueue(dialer, {
      clock,
      limiter: new MemorySlotLimiter({ clock }),
      suppress: async (job) => {
        asked.push(job.to);
        return job.metadata.n === 1 ? 'on the national DNC list' : false;
      },
    });
    const run = await fx.queue.startRun({ businessId: 'dnc', concurrency: 2, leads: leads(3) });
    const done = await finish(clock, run.runId);
    expect(done.counts).toMatchObject({ completed: 2, canceled: 1 });
    expect(dialer.calls.map((c) => c.metadata.n).sort()).toEqual([0, 2]);
    const suppressed = (await fx.queue.listJobs(run.runId, { status: 'canceled' }))[0]!;
    expect(suppressed).toMatchObject({ errorCode: 'SUPPRESSED', errorMessage: 'on the national DNC list' });
    expect(asked).toHaveLength(3);
  });

  it('never dials a job whose suppression check fails: it waits and is asked again', async () => {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 1_000, clock });
    let failing = true;
    let asked = 0;
    fx = await startQueue(dialer, {
      clock,
      limiter: new MemorySlotLimiter({ clock }),
      suppress: () => {
        asked += 1;
        if (failing) throw new Error('opt-out table unreachable');
        return false;
      },
    });
    const run = await fx.queue.startRun({ businessId: 'dnc-down', concurrency: 1, leads: leads(1) });
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    expect(dialer.calls).toHaveLength(0);
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(fx.logger.named('OUTBOUND_SUPPRESS_UNAVAILABLE').length).toBe(asked);
    failing = false;
    const done = await finish(clock, run.runId);
    expect(done.counts.completed).toBe(1);
    expect(dialer.calls).toHaveLength(1);
  });

  it('decides on a webhook end of a call placed here without reading the job', async () => {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 'manual', clock });
    const db = sqliteDb();
    let routeReads = 0;
    const store = new (class extends KyselyStore {
      override async getJobRoute(jobId: string) {
        routeReads += 1;
        return super.getJobRoute(jobId);
      }
    })({ db });
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }), db, store });
    try {
      const run = await fx.queue.startRun({
        businessId: 'hook',
        concurrency: 1,
        leads: leads(1),
        retry: { busy: { maxAttempts: 2, delayMs: 1_000 } },
      });
      for (let i = 0; i < 20 && dialer.calls.length === 0; i++) await clock.advance(100);
      for (let i = 0; i < 20 && !(await fx.queue.listJobs(run.runId))[0]?.callId; i++)
        await clock.advance(100);
      const [call] = dialer.calls;
      dialer.hangUp(call!.callId);
      routeReads = 0;
      const { applied } = await fx.queue.handleCallEvent({
        jobId: call!.jobId,
        lockToken: call!.lockToken,
        callId: call!.callId,
        status: 'busy',
      });
      expect(applied).toBe(true);
      expect(routeReads).toBe(0);
      expect((await fx.queue.listJobs(run.runId))[0]?.status).toBe('queued');
    } finally {
      await fx.close();
      fx = undefined;
      await db.destroy();
    }
  });

  it('treats a suppression check that never answers as an outage: the stop is not held up', async () => {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 1_000, clock });
    let asked = 0;
    fx = await startQueue(dialer, {
      clock,
      limiter: new MemorySlotLimiter({ clock }),
      leaseMs: 4_000,
      suppress: () => {
        asked += 1;
        return asked === 1 ? new Promise<false>(() => {}) : false;
      },
    });
    const run = await fx.queue.startRun({ businessId: 'dnc-hung', concurrency: 1, leads: leads(1) });
    for (let i = 0; i < 10; i++) await clock.advance(500);
    expect(fx.logger.named('OUTBOUND_SUPPRESS_UNAVAILABLE')).toHaveLength(1);
    const done = await finish(clock, run.runId);
    expect(done.counts.completed).toBe(1);
    expect(dialer.calls.map((c) => c.attempt)).toEqual([2]);
  });

  it("dials a retry in the process that feeds the run when another process wrote the first call's end", async () => {
    const clock = new VirtualClock();
    const limiter = new MemorySlotLimiter({ clock });
    const dialer = new RecordingDialer({ durationMs: 'manual', clock });
    // A short lease: the run's feeder here learns of a retry written elsewhere within a third of it.
    fx = await startQueue(dialer, { clock, limiter, leaseMs: 3_000 });
    // A second process on the same database and limiter, which gets the call's webhook.
    const other = await startQueue(new RecordingDialer({ durationMs: 'manual', clock }), {
      clock,
      limiter,
      leaseMs: 3_000,
      db: fx.db,
    });
    try {
      const run = await fx.queue.startRun({
        businessId: 'two',
        concurrency: 1,
        leads: leads(1),
        // Shorter than a renewal period (a third of the lease): the first attempt's record here is
        // still there when the job is granted a slot again.
        retry: { busy: { maxAttempts: 2, delayMs: 200 } },
      });
      for (let i = 0; i < 20 && dialer.calls.length === 0; i++) await clock.advance(100);
      const [first] = dialer.calls;
      for (let i = 0; i < 20 && !(await fx.queue.getRun(run.runId)).counts.dialing; i++)
        await clock.advance(100);
      await clock.advance(500);
      dialer.hangUp(first!.callId);
      const { applied } = await other.queue.handleCallEvent({
        jobId: first!.jobId,
        lockToken: first!.lockToken,
        callId: first!.callId,
        status: 'busy',
      });
      expect(applied).toBe(true);
      for (let i = 0; i < 100 && dialer.calls.length < 2; i++) await clock.advance(500);
      expect(dialer.calls.map((c) => c.attempt)).toEqual([1, 2]);
      // Within the wait and a feeder's safety wake-up: not held up by the first attempt's record
      // here (never dialed while this process renews the new grant's slot for that record).
      expect(dialer.calls[1]!.startedAt - first!.startedAt).toBeLessThan(500 + 200 + 1_000 + 1_000);
    } finally {
      await other.close();
    }
  });
});

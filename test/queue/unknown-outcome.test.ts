import { afterEach, describe, expect, it } from 'vitest';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { DialError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';

const LEASE_MS = 30_000;

/** A dial whose outcome is unknown (the request may have reached the provider) is never dialed again. */
describe('a dial whose outcome is unknown', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function onVirtualTime(dialer: Dialer, clock: VirtualClock) {
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }), leaseMs: LEASE_MS });
    return fx;
  }

  it('adopts the call the dialer finds, and dials nobody twice', async () => {
    const clock = new VirtualClock();
    const dialer = new SimulatedDialer({ clock, durationMs: 10_000, unknownOutcome: () => 'placed' });
    const { queue } = await onVirtualTime(dialer, clock);
    const run = await queue.startRun({ businessId: 'u', concurrency: 1, leads: leads(2) });
    await clock.advance(60_000);
    const done = await queue.getRun(run.runId);
    expect(done.counts.completed).toBe(2);
    const jobs = await queue.listJobs(run.runId);
    expect(jobs.every((j) => j.attempt === 1 && j.callId !== undefined)).toBe(true);
  });

  it('ends DIAL_OUTCOME_UNKNOWN when no call is found, holding its slot until then', async () => {
    const clock = new VirtualClock();
    const dialer = new SimulatedDialer({
      clock,
      durationMs: 1_000,
      unknownOutcome: (req) => (req.to.endsWith('0') ? 'not-placed' : undefined),
    });
    const { queue } = await onVirtualTime(dialer, clock);
    const run = await queue.startRun({ businessId: 'n', concurrency: 1, leads: leads(2) });
    await clock.advance(LEASE_MS / 2);
    // The first job's slot still counts: the second waits.
    expect((await queue.listJobs(run.runId)).map((j) => j.status)).toEqual(['dialing', 'queued']);
    await clock.advance(2 * LEASE_MS);
    const [first, second] = await queue.listJobs(run.runId);
    expect(first).toMatchObject({ status: 'failed', errorCode: 'DIAL_OUTCOME_UNKNOWN', attempt: 1 });
    expect(second).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('without findCall, adopts the call named by a status callback carrying the job token', async () => {
    const clock = new VirtualClock();
    const requests: DialRequest[] = [];
    const dialer: Dialer = {
      async dial(req: DialRequest, _ctx: DialContext): Promise<DialResult> {
        requests.push(req);
        throw new DialError('unknown', 'connection reset after the request was sent', {
          providerCode: 'ECONNRESET',
        });
      },
    };
    const { queue } = await onVirtualTime(dialer, clock);
    const run = await queue.startRun({ businessId: 'w', concurrency: 1, leads: leads(1) });
    await clock.advance(1_000);
    expect(requests).toHaveLength(1);
    const { jobId, lockToken } = requests[0]!;
    expect(
      (await queue.handleCallEvent({ jobId, lockToken, callId: 'CA-1', status: 'ringing' })).applied,
    ).toBe(true);
    await clock.advance(3 * LEASE_MS);
    expect((await queue.getJob(jobId)).status).toBe('ringing');
    await queue.handleCallEvent({ jobId, lockToken, callId: 'CA-1', status: 'completed' });
    await eventually(async () => (await queue.getRun(run.runId)).status === 'completed');
    expect(requests).toHaveLength(1);
  });
});

/** Issue 11 point 6: a call whose claim was given up while dial() ran is a real conflict. */
describe('a dial that returns after its job was given up', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('writes nothing onto the ended job, reports the conflict once and hangs the call up', async () => {
    let placeCall!: (result: DialResult) => void;
    const requests: DialRequest[] = [];
    const hungUp: string[] = [];
    const dialer: Dialer = {
      dial(req: DialRequest): Promise<DialResult> {
        requests.push(req);
        return new Promise((resolve) => {
          placeCall = resolve;
        });
      },
      async hangup(callId: string) {
        hungUp.push(callId);
      },
    };
    fx = await startQueue(dialer);
    const errors: Error[] = [];
    fx.queue.on('error', (err) => errors.push(err));
    await fx.queue.startRun({ businessId: 'c', concurrency: 1, leads: leads(1) });
    await eventually(() => requests.length === 1);
    const { jobId, lockToken } = requests[0]!;
    // Another process's reconciler gives the silent claim up, as it does: with a fresh token.
    const given = await fx.store.transition(
      {
        jobId,
        lockToken,
        status: 'failed',
        errorCode: 'DIAL_OUTCOME_UNKNOWN',
        errorMessage: 'test',
        newLockToken: 'given-up',
      },
      Date.now(),
    );
    expect(given?.status).toBe('failed');
    placeCall({ callId: 'CA-late' });
    await eventually(() => hungUp.length === 1);
    expect(hungUp).toEqual(['CA-late']);
    expect(fx.logger.named('OUTBOUND_LOCK_CONFLICT')).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(await fx.queue.getJob(jobId)).toMatchObject({ status: 'failed', callId: undefined });
  });
});

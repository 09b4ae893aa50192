import { afterEach, describe, expect, it } from 'vitest';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import { ValidationError } from '../../src/errors.js';
import type { CallEvent } from '../../src/types.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('call events (guarantees 6 and 9)', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  async function oneLiveCall(concurrency = 1, n = 2) {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const released: string[] = [];
    fx.queue.on('slot:released', (e) => released.push(e.jobId));
    const run = await fx.queue.startRun({ businessId: 'w', concurrency, leads: leads(n) });
    await eventually(() => dialer.calls.length === concurrency);
    await eventually(
      async () => (await fx!.queue.listJobs(run.runId, { status: 'dialing' }))[0]?.callId !== undefined,
    );
    const call = dialer.calls[0]!;
    const base = { jobId: call.jobId, lockToken: call.lockToken, callId: call.callId };
    return { dialer, run, call, base, released };
  }

  it('applies duplicated events once and releases the slot once', async () => {
    const { base, released, run, dialer } = await oneLiveCall();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => fx!.queue.handleCallEvent({ ...base, status: 'completed' })),
    );
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(released.filter((id) => id === base.jobId)).toHaveLength(1);
    await eventually(() => dialer.calls.length === 2);
    await dialer.end(dialer.calls[1]!.callId);
    const done = await fx!.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(2);
  });

  it('only moves forward: a late ringing after completed changes nothing', async () => {
    const { base, run } = await oneLiveCall();
    expect((await fx!.queue.handleCallEvent({ ...base, status: 'in-progress' })).applied).toBe(true);
    expect((await fx!.queue.handleCallEvent({ ...base, status: 'ringing' })).applied).toBe(false);
    const end = { ...base, status: 'completed' as const, durationSec: 12, answeredBy: 'human' };
    expect((await fx!.queue.handleCallEvent(end)).applied).toBe(true);
    expect((await fx!.queue.handleCallEvent({ ...base, status: 'ringing' })).applied).toBe(false);
    expect((await fx!.queue.handleCallEvent({ ...base, status: 'failed' })).applied).toBe(false);
    const [job] = await fx!.queue.listJobs(run.runId, { limit: 1 });
    expect(job).toMatchObject({ status: 'completed', durationSec: 12, answeredBy: 'human' });
  });

  it('ignores forged and stale events: wrong token, wrong call id, unknown job', async () => {
    const { base, run } = await oneLiveCall();
    const forged: CallEvent[] = [
      { jobId: base.jobId, lockToken: 'forged', status: 'completed' },
      { jobId: base.jobId, callId: 'CA-someone-else', status: 'completed' },
      { jobId: base.jobId, status: 'completed' },
      { jobId: 'no-such-job', lockToken: base.lockToken, status: 'completed' },
    ];
    for (const event of forged) expect((await fx!.queue.handleCallEvent(event)).applied).toBe(false);
    const [job] = await fx!.queue.listJobs(run.runId, { limit: 1 });
    expect(job?.status).toBe('dialing');
    // The call id alone (as Twilio's fetch gives it) is enough for the job that holds it.
    expect(
      (await fx!.queue.handleCallEvent({ jobId: base.jobId, callId: base.callId, status: 'busy' })).applied,
    ).toBe(true);
  });

  it('ignores an event with the current token that names another call than the one the job holds', async () => {
    const { base, run, released } = await oneLiveCall();
    const other = { ...base, callId: 'CA-another-call', status: 'completed' as const };
    expect((await fx!.queue.handleCallEvent(other)).applied).toBe(false);
    expect((await fx!.queue.handleCallEvent({ ...other, status: 'in-progress' })).applied).toBe(false);
    const [job] = await fx!.queue.listJobs(run.runId, { limit: 1 });
    expect(job).toMatchObject({ status: 'dialing', callId: base.callId });
    expect(released).toEqual([]);
    // Reported once per event, as the conflict it is.
    expect(fx!.logger.named('OUTBOUND_EVENT_CALL_MISMATCH')).toHaveLength(2);
    expect((await fx!.queue.handleCallEvent({ ...base, status: 'completed' })).applied).toBe(true);
  });

  it('rejects malformed events with a ValidationError', async () => {
    await oneLiveCall();
    await expect(
      fx!.queue.handleCallEvent({ jobId: 'x', status: 'exploded' } as unknown as CallEvent),
    ).rejects.toThrow(ValidationError);
  });

  it('applies events that arrive before dial() has returned', async () => {
    const early: Dialer = {
      async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
        const base = { jobId: req.jobId, lockToken: req.lockToken, callId: `CA-${req.jobId}` };
        await ctx.report({ ...base, status: 'ringing' });
        await ctx.report({ ...base, status: 'completed' });
        return { callId: base.callId };
      },
    };
    fx = await startQueue(early);
    const run = await fx.queue.startRun({ businessId: 'e', concurrency: 2, leads: leads(4) });
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(4);
    expect(fx.logger.named('OUTBOUND_LOCK_CONFLICT')).toEqual([]);
    const jobs = await fx.queue.listJobs(run.runId);
    expect(jobs.every((j) => j.callId === `CA-${j.jobId}`)).toBe(true);
  });

  it('survives shuffled and duplicated event storms across many calls', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const released = new Map<string, number>();
    fx.queue.on('slot:released', (e) => released.set(e.jobId, (released.get(e.jobId) ?? 0) + 1));
    const run = await fx.queue.startRun({ businessId: 's', concurrency: 3, leads: leads(12) });
    const statuses = ['initiated', 'ringing', 'in-progress', 'completed'] as const;
    let handled = 0;
    while (handled < 12) {
      await eventually(() => dialer.liveCalls().length > 0);
      const batch = dialer.liveCalls();
      const events: CallEvent[] = [];
      for (const call of batch) {
        for (const status of statuses) {
          for (let copy = 0; copy < 2; copy++)
            events.push({ jobId: call.jobId, lockToken: call.lockToken, status });
        }
        dialer.hangUp(call.callId);
      }
      events.sort(() => Math.random() - 0.5);
      await Promise.all(events.map((e) => fx!.queue.handleCallEvent(e)));
      handled += batch.length;
    }
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 5000 });
    expect(done.counts.completed).toBe(12);
    expect([...released.values()].every((n) => n === 1)).toBe(true);
    expect(released.size).toBe(12);
    expect(dialer.maxConcurrent('s')).toBeLessThanOrEqual(3);
  });
});

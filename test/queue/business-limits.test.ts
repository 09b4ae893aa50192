import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError, ValidationError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { type RecordedCall, RecordingDialer } from '../support/recording-dialer.js';

/** The most calls of `calls` live at one instant (a call is live from its start to its end). */
function maxOverlap(calls: readonly RecordedCall[]): number {
  const edges = calls.flatMap((c) => [
    { t: c.startedAt, d: 1 },
    { t: c.endedAt ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let live = 0;
  let most = 0;
  for (const { d } of edges) {
    live += d;
    most = Math.max(most, live);
  }
  return most;
}

/** Ends the oldest live call of `dialer` (optionally of one business) and waits for the next dial, if `next`. */
async function endOldest(dialer: RecordingDialer, businessId?: string): Promise<void> {
  const call = dialer.liveCalls().find((c) => businessId === undefined || c.businessId === businessId);
  if (!call) throw new Error('no live call');
  await dialer.end(call.callId, 'completed');
}

const live = (dialer: RecordingDialer, where: (c: RecordedCall) => boolean = () => true) =>
  dialer.liveCalls().filter(where).length;

describe('business limits, live changes, groups and fair sharing', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('two runs of one business without a limit: the business reaches the higher concurrency, each run its own', async () => {
    const dialer = new RecordingDialer({ durationMs: 25 });
    fx = await startQueue(dialer);
    const a = await fx.queue.startRun({ businessId: '4', concurrency: 2, leads: leads(12) });
    const b = await fx.queue.startRun({ businessId: '4', concurrency: 5, leads: leads(12, 100) });
    await fx.queue.waitForRun(a.runId, { timeoutMs: 20_000 });
    await fx.queue.waitForRun(b.runId, { timeoutMs: 20_000 });
    expect(maxOverlap(dialer.calls.filter((c) => c.runId === a.runId))).toBeLessThanOrEqual(2);
    expect(maxOverlap(dialer.calls.filter((c) => c.runId === b.runId))).toBeLessThanOrEqual(5);
    expect(dialer.maxConcurrent('4')).toBeLessThanOrEqual(5);
    // The logs say which limit they apply: the business's and the run's.
    const enqueue = fx.logger.named('OUTBOUND_ENQUEUE');
    for (const { obj } of enqueue) {
      const { active, limit, run_active: runActive, run_limit: runLimit } = obj as Record<string, number>;
      if (active === undefined || runActive === undefined) throw new Error('a level is missing from the log');
      expect(active).toBeLessThanOrEqual(limit as number);
      expect(runActive).toBeLessThanOrEqual(runLimit as number);
    }
    expect(enqueue.some(({ obj }) => obj.run_id === a.runId && obj.run_limit === 2)).toBe(true);
  });

  it('one limit shared by all the runs of a business, raised and lowered live', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    await fx.queue.setBusinessLimits('7', { concurrency: 2 });
    const runs = [
      await fx.queue.startRun({ businessId: '7', concurrency: 5, leads: leads(8) }),
      await fx.queue.startRun({ businessId: '7', concurrency: 5, leads: leads(8, 100) }),
    ];
    await eventually(() => live(dialer) === 2, 3000).catch((err) => {
      console.log(
        live(dialer),
        JSON.stringify(
          fx?.logger.lines.map((l) => [
            l.msg,
            l.obj.active,
            l.obj.limit,
            l.obj.run_id,
            String(l.obj.err ?? ''),
          ]),
        ),
      );
      throw err;
    });
    // Raised: waiting jobs are dialed at once, without any call ending.
    await fx.queue.setBusinessLimits('7', { concurrency: 4 });
    await eventually(() => live(dialer) === 4);
    // Lowered: live calls go on; nothing starts until they fall below the new limit.
    await fx.queue.setBusinessLimits('7', { concurrency: 1 });
    const dialsAtLower = dialer.calls.length;
    for (let i = 0; i < 3; i++) await endOldest(dialer);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dialer.calls.length).toBe(dialsAtLower);
    expect(live(dialer)).toBe(1);
    await endOldest(dialer);
    await eventually(() => dialer.calls.length === dialsAtLower + 1);
    expect(live(dialer)).toBe(1);
    const business = await fx.queue.getBusiness('7');
    expect(business).toMatchObject({ businessId: '7', concurrency: 1, paused: false, active: 1 });
    expect(business.runs.map((r) => r.runId).sort()).toEqual(runs.map((r) => r.runId).sort());
    expect(business.waiting).toBe(16 - dialer.calls.length);
    // Drain.
    while (dialer.liveCalls().length > 0 || dialer.calls.length < 16) {
      if (dialer.liveCalls().length > 0) await endOldest(dialer);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const run of runs)
      expect((await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 })).counts.completed).toBe(8);
  });

  it('a raised group, business or run limit dials waiting jobs at once: no timer of the engine runs (SPEC hand-off)', async () => {
    // The virtual clock never advances: a job dialed only after a feeder's safety timeout (or any
    // poll) would never be dialed here.
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 'manual', clock });
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }) });
    await fx.queue.setGroupLimits('ag', { concurrency: 1 });
    await fx.queue.setBusinessLimits('ao', { concurrency: 2, group: 'ag' });
    const run = await fx.queue.startRun({ businessId: 'ao', concurrency: 2, leads: leads(8) });
    await eventually(() => live(dialer) === 1);
    await fx.queue.setGroupLimits('ag', { concurrency: 10 });
    await eventually(() => live(dialer) === 2);
    await fx.queue.setBusinessLimits('ao', { concurrency: 5, group: 'ag' });
    await fx.queue.setRunConcurrency(run.runId, 4);
    await eventually(() => live(dialer) === 4);
    // A call's end hands its slot on at once too.
    await endOldest(dialer);
    await eventually(() => dialer.calls.length === 5 && live(dialer) === 4);
    await fx.queue.stop(run.runId);
    for (const call of dialer.liveCalls()) await dialer.end(call.callId, 'completed');
  });

  it('round-robin between the runs of a business, and priority prefers a run without starving the other', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    await fx.queue.setBusinessLimits('rr', { concurrency: 1 });
    const first = await fx.queue.startRun({ businessId: 'rr', concurrency: 1, leads: leads(6) });
    const second = await fx.queue.startRun({ businessId: 'rr', concurrency: 1, leads: leads(6, 100) });
    const heavy = await fx.queue.startRun({
      businessId: 'rr',
      concurrency: 1,
      priority: 2,
      leads: leads(12, 200),
    });
    const order: string[] = [];
    while (order.length < 16) {
      await eventually(() => live(dialer) === 1);
      const call = dialer.liveCalls()[0] as RecordedCall;
      order.push(call.runId === first.runId ? 'a' : call.runId === second.runId ? 'b' : 'h');
      await dialer.end(call.callId, 'completed');
    }
    // Once all three wait: each round gives the heavy run two calls for the others' one each.
    const tail = order.slice(4).join('');
    const count = (s: string, x: string) => [...s].filter((c) => c === x).length;
    expect(count(tail, 'h')).toBeGreaterThanOrEqual(2 * count(tail, 'a') - 2);
    expect(count(tail, 'a')).toBeGreaterThanOrEqual(3);
    expect(count(tail, 'b')).toBeGreaterThanOrEqual(3);
    // No run waits while another is served three times in a row.
    expect(tail).not.toMatch(/aaa|bbb|hhh/);
    await fx.queue.stopBusiness('rr');
    expect((await fx.queue.getRun(heavy.runId)).priority).toBe(2);
  });

  it('an account group caps its businesses together, and shares its slots round-robin', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    await fx.queue.setGroupLimits('twilio-main', { concurrency: 2 });
    for (const b of ['g1', 'g2', 'g3'])
      await fx.queue.setBusinessLimits(b, { concurrency: 2, group: 'twilio-main' });
    for (const [i, b] of ['g1', 'g2', 'g3'].entries())
      await fx.queue.startRun({ businessId: b, concurrency: 2, leads: leads(6, i * 100) });
    const served: string[] = [];
    for (let i = 0; i < 12; i++) {
      await eventually(() => live(dialer) === 2);
      const call = dialer.liveCalls()[0] as RecordedCall;
      served.push(call.businessId);
      await dialer.end(call.callId, 'completed');
    }
    expect(maxOverlap(dialer.calls)).toBe(2);
    // Each business is served within every window of four promotions.
    for (let i = 2; i + 4 <= served.length; i++) expect(new Set(served.slice(i, i + 4)).size).toBe(3);
    const business = await fx.queue.getBusiness('g2');
    expect(business.group).toEqual({ group: 'twilio-main', concurrency: 2, businesses: ['g1', 'g2', 'g3'] });
    // The group's limit raised live: waiting jobs dialed at once.
    await fx.queue.setGroupLimits('twilio-main', { concurrency: 4 });
    await eventually(() => live(dialer) === 4);
    await fx.queue.stopBusiness('g1');
    await fx.queue.stopBusiness('g2');
    await fx.queue.stopBusiness('g3');
  });

  it('a business that joins a group mid-run counts its live calls in the group at once', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    await fx.queue.setGroupLimits('acct', { concurrency: 3 });
    await fx.queue.setBusinessLimits('in', { concurrency: 3, group: 'acct' });
    await fx.queue.startRun({ businessId: 'in', concurrency: 3, leads: leads(6) });
    await fx.queue.startRun({ businessId: 'mover', concurrency: 2, leads: leads(6, 100) });
    await eventually(() => live(dialer) === 5);
    await fx.queue.setBusinessLimits('mover', { concurrency: 2, group: 'acct' });
    // Five calls live in a group of three: none starts until they fall below three.
    const dials = dialer.calls.length;
    await endOldest(dialer, 'in');
    await endOldest(dialer, 'mover');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dialer.calls.length).toBe(dials);
    await endOldest(dialer, 'in');
    await eventually(() => dialer.calls.length === dials + 1);
    expect(live(dialer)).toBe(3);
    await fx.queue.stopBusiness('in');
    await fx.queue.stopBusiness('mover');
  });

  it('setRunConcurrency changes a live run at once; an ended run refuses it', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    fx = await startQueue(dialer);
    const run = await fx.queue.startRun({ businessId: 'src', concurrency: 1, leads: leads(6) });
    await eventually(() => live(dialer) === 1);
    await fx.queue.setBusinessLimits('src', { concurrency: 5 });
    const raised = await fx.queue.setRunConcurrency(run.runId, 3);
    expect(raised.concurrency).toBe(3);
    await eventually(() => live(dialer) === 3);
    await fx.queue.setRunConcurrency(run.runId, 1);
    const dials = dialer.calls.length;
    await endOldest(dialer);
    await endOldest(dialer);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dialer.calls.length).toBe(dials);
    await fx.queue.stop(run.runId);
    await expect(fx.queue.setRunConcurrency(run.runId, 2)).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('pauseBusiness pauses every run (and runs started meanwhile), resumeBusiness resumes them, stopBusiness stops them', async () => {
    const dialer = new RecordingDialer({ durationMs: 5 });
    fx = await startQueue(dialer);
    const a = await fx.queue.startRun({ businessId: 'p', concurrency: 1, leads: leads(40) });
    const paused = await fx.queue.pauseBusiness('p');
    expect(paused.paused).toBe(true);
    expect(paused.runs.map((r) => r.status)).toEqual(['paused']);
    const b = await fx.queue.startRun({ businessId: 'p', concurrency: 1, leads: leads(3, 100) });
    expect(b.status).toBe('paused');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const dials = dialer.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dialer.calls.length).toBe(dials);
    const resumed = await fx.queue.resumeBusiness('p');
    expect(resumed.paused).toBe(false);
    expect(resumed.runs.every((r) => r.status === 'running')).toBe(true);
    await fx.queue.waitForRun(b.runId, { timeoutMs: 10_000 });
    const stopped = await fx.queue.stopBusiness('p');
    expect(stopped.map((s) => s.runId)).toEqual([a.runId]);
    expect((await fx.queue.getRun(a.runId)).status).toMatch(/stopped|completed/);
  });

  it('refuses bad limits with a ValidationError naming each field, and writes nothing', async () => {
    fx = await startQueue(new RecordingDialer());
    const bad = (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(ValidationError);
    await bad(fx.queue.setBusinessLimits('x', { concurrency: 0 }));
    await bad(fx.queue.setBusinessLimits('x', { concurrency: 2, dialsPerSecond: -1 }));
    await bad(fx.queue.setBusinessLimits('x', { concurrency: 2, group: '' }));
    await bad(fx.queue.setBusinessLimits('', { concurrency: 2 }));
    await bad(fx.queue.setBusinessLimits('a\u0000b', { concurrency: 2 }));
    await bad(fx.queue.setGroupLimits('g', { concurrency: 1.5 }));
    await bad(fx.queue.setGroupLimits('g', { dialsPerSecond: 0 }));
    await bad(fx.queue.startRun({ businessId: 'x', concurrency: 1, priority: 0, leads: leads(1) }));
    const err = await fx.queue
      .setBusinessLimits('x', { concurrency: 0, dialsPerSecond: Number.NaN })
      .catch((e: ValidationError) => e);
    expect((err as ValidationError).issues.map((i) => i.field).sort()).toEqual([
      'concurrency',
      'dialsPerSecond',
    ]);
    expect(await fx.store.getBusiness('x')).toBeUndefined();
    const summary = await fx.queue.getBusiness('x');
    expect(summary).toEqual({ businessId: 'x', paused: false, active: 0, waiting: 0, runs: [] });
  });
});

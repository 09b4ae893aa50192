import type { CallEvent } from '../../src/types.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { type ScriptedCall, ScriptedDialer } from './scripted-dialer.js';

/**
 * A small workload with every kind of outcome, over two businesses:
 * - `acme`, concurrency 2, busy retried once: lead 0 completed (30 s), lead 1 busy twice (the
 *   first end puts it back for a retry), lead 2 no answer (20 s), lead 3 failed, lead 4's dial
 *   fails (provider code 21211);
 * - `beta`, concurrency 1: one lead, completed (10 s).
 * Ends alternate between the dialer's own report and `handleCallEvent` (a webhook).
 */
const ACME = leads(5);
const BETA = leads(1, 10);
const ENDS = new Map<string, { status: CallEvent['status']; durationSec?: number }>([
  [ACME[0]!.to, { status: 'completed', durationSec: 30 }],
  [ACME[1]!.to, { status: 'busy' }],
  [ACME[2]!.to, { status: 'no-answer', durationSec: 20 }],
  [ACME[3]!.to, { status: 'failed' }],
  [BETA[0]!.to, { status: 'completed', durationSec: 10 }],
]);

/** What the scenario does, as a host would count it. */
export const EXPECTED = {
  acme: {
    dials: 6,
    dialFailures: 1,
    outcomes: { completed: 1, queued: 1, busy: 1, no_answer: 1, failed: 2 },
  },
  beta: { dials: 1, dialFailures: 0, outcomes: { completed: 1 } },
  /** Calls ended with a reported duration, and their sum in seconds. */
  callDurations: { count: 3, sum: 60 },
  /** While the first three calls are live: the gauges of each business. */
  midRun: {
    acme: { live: 2, waiting: 3, limit: 2 },
    beta: { live: 1, waiting: 0, limit: 1 },
  },
} as const;

/** A started queue with the scenario's dialer. */
export async function scenarioQueue(): Promise<{ fx: QueueFixture; dialer: ScriptedDialer }> {
  const dialer = new ScriptedDialer(new Set([ACME[4]!.to]));
  return { fx: await startQueue(dialer), dialer };
}

/** Waits until `call`'s call id is written: its end can then be matched by a webhook. */
async function recorded(fx: QueueFixture, call: ScriptedCall): Promise<void> {
  await eventually(async () => (await fx.queue.getJob(call.req.jobId)).callId === call.callId);
}

/**
 * Runs the scenario to its end.
 * @param midRun - called while the first three calls are live (acme 2, beta 1), nothing ended yet
 * @returns the two runs' ids
 */
export async function runScenario(
  fx: QueueFixture,
  dialer: ScriptedDialer,
  midRun?: () => Promise<void>,
): Promise<{ acme: string; beta: string }> {
  const { queue } = fx;
  const acme = await queue.startRun({
    businessId: 'acme',
    concurrency: 2,
    leads: ACME,
    retry: { busy: { maxAttempts: 2, delayMs: 0 } },
  });
  const beta = await queue.startRun({ businessId: 'beta', concurrency: 1, leads: BETA });
  await eventually(() => dialer.calls.length === 3);
  for (const call of dialer.calls) await recorded(fx, call);
  await midRun?.();
  for (let ended = 0; ended < 6; ended++) {
    await eventually(() => dialer.open().length > 0);
    const call = dialer.open()[0]!;
    await recorded(fx, call);
    const end = ENDS.get(call.req.to)!;
    const event = dialer.endEvent(call, end.status, end.durationSec);
    if (ended % 2 === 0) await call.ctx.report(event);
    else await queue.handleCallEvent(event);
  }
  await queue.waitForRun(acme.runId, { timeoutMs: 30_000 });
  await queue.waitForRun(beta.runId, { timeoutMs: 30_000 });
  return { acme: acme.runId, beta: beta.runId };
}

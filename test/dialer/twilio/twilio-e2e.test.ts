import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallEvent, type Job, MemorySlotLimiter, OutboundQueue } from '../../../src/index.js';
import { KyselyStore } from '../../../src/kysely.js';
import { createTwilioWebhookHandler, type TwilioDialerOptions } from '../../../src/twilio.js';
import { FakeTwilio, type FakeTwilioOptions } from '../../support/fake-twilio/fake-twilio.js';
import { fakeTwilioDialer } from '../../support/fake-twilio/fake-twilio-client.js';
import { postSignedForm } from '../../support/fake-twilio/signing.js';
import { type ServedHandler, serveWebHandler } from '../../support/fake-twilio/webhook-receiver.js';
import { eventually } from '../../support/queue-fixture.js';
import { sqliteDb } from '../../support/sqlite.js';

/** `n` distinct valid US numbers. */
function leads(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    to: `+1415555${String(2000 + i).padStart(4, '0')}`,
    leadId: `lead-${i}`,
  }));
}

/**
 * The whole path as a host runs it: OutboundQueue on SQLite (KyselyStore) and the memory limiter,
 * TwilioDialer on the real twilio client talking to the fake Twilio, and the fake's signed status
 * callbacks arriving over HTTP at a route served by createTwilioWebhookHandler.
 */
describe('TwilioDialer end to end (queue + KyselyStore + limiter + fake Twilio over HTTP)', () => {
  let fake: FakeTwilio | undefined;
  let host: ServedHandler | undefined;
  let queue: OutboundQueue | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the store's tables are untyped for the host
  let db: Kysely<any> | undefined;

  afterEach(async () => {
    await queue?.close();
    await fake?.stop();
    await host?.close();
    await db?.destroy();
    fake = host = queue = db = undefined;
  });

  async function setup(knobs: FakeTwilioOptions, dialerOptions: Partial<TwilioDialerOptions> = {}) {
    fake = await new FakeTwilio(knobs).start();
    let handler: ((request: Request) => Promise<Response>) | undefined;
    host = await serveWebHandler((request) => handler!(request));
    const dialer = fakeTwilioDialer(fake, host.baseUrl, dialerOptions);
    db = sqliteDb();
    queue = new OutboundQueue({
      store: new KyselyStore({ db }),
      limiter: new MemorySlotLimiter(),
      dialer,
      retry: { maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 200 },
    });
    handler = createTwilioWebhookHandler({ dialer, queue });
    const errors: Error[] = [];
    const released: string[] = [];
    queue.on('error', (err) => errors.push(err));
    queue.on('slot:released', (e) => released.push(e.jobId));
    await queue.migrate();
    await queue.start();
    return { fake, host, queue, dialer, errors, released };
  }

  async function allJobs(q: OutboundQueue, runId: string): Promise<Job[]> {
    return q.listJobs(runId, { limit: 1000 });
  }

  it('20 leads at concurrency 3: never more than 3 live calls; a bad number fails once; a 20429 burst is retried', async () => {
    const bad = '+14155552007';
    const { fake, queue, errors, released } = await setup({
      errorFor: (to) => (to === bad ? 21211 : undefined),
      rateLimitBurst: 4,
      callDurationMs: 30,
    });
    const run = await queue.startRun({ businessId: 'biz-1', concurrency: 3, leads: leads(20) });
    const summary = await queue.waitForRun(run.runId, { timeoutMs: 30_000 });
    await fake.idle();

    expect(summary.counts.completed).toBe(19);
    expect(summary.counts.failed).toBe(1);
    expect(fake.maxLiveCalls).toBeLessThanOrEqual(3);
    expect(fake.maxLiveCalls).toBe(3); // the limit was actually used, not trivially respected

    const jobs = await allJobs(queue, run.runId);
    const failed = jobs.find((j) => j.to === bad)!;
    expect(failed).toMatchObject({ status: 'failed', errorCode: '21211' });
    expect(fake.creates.filter((c) => c.to === bad)).toHaveLength(1);

    const rateLimited = fake.creates.filter((c) => c.code === 20429);
    expect(rateLimited).toHaveLength(4);
    for (const job of jobs.filter((j) => j.to !== bad)) {
      expect(job.status).toBe('completed');
      expect(job.callId).toMatch(/^CA[0-9a-f]{32}$/);
      expect(fake.calls.get(job.callId!)?.to).toBe(job.to);
      // one call placed per lead, however many times Twilio refused it first
      expect(fake.creates.filter((c) => c.to === job.to && c.status === 201)).toHaveLength(1);
    }
    // Each attempt held a slot and gave it back exactly once (a refused create too, to wait for its retry).
    expect(released).toHaveLength(fake.creates.length);
    expect(errors).toEqual([]);
  });

  it('a forged callback answers 403 and changes nothing; a stale token changes nothing', async () => {
    const { fake, host, queue, errors } = await setup({ callDurationMs: 800 });
    const run = await queue.startRun({ businessId: 'biz-2', concurrency: 1, leads: leads(1) });
    let job: Job | undefined;
    await eventually(async () => {
      job = (await allJobs(queue, run.runId))[0];
      return job?.status === 'in_progress';
    });
    const call = fake.calls.get(job!.callId!)!;
    const callbackUrl = call.params.get('StatusCallback')!;
    const params = {
      AccountSid: fake.accountSid,
      CallSid: call.sid,
      CallStatus: 'completed',
      CallDuration: '1',
    };

    const forged = await postSignedForm(callbackUrl, params, 'a-guessed-token');
    expect(forged.status).toBe(403);
    const unsigned = await postSignedForm(callbackUrl, params, fake.authToken, { 'x-twilio-signature': '' });
    expect(unsigned.status).toBe(403);
    // Signed by Twilio for this job, but with an old lock token: accepted by the route, ignored by the queue.
    const staleUrl = callbackUrl.replace(/lockToken=[^&]+/, 'lockToken=stale');
    const stale = await postSignedForm(
      staleUrl,
      { ...params, CallSid: 'CA00000000000000000000000000000000' },
      fake.authToken,
    );
    expect(stale.status).toBe(204);
    expect((await allJobs(queue, run.runId))[0]).toMatchObject({ status: 'in_progress', callId: call.sid });

    const summary = await queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    expect(summary.counts.completed).toBe(1);
    expect(host.requests.filter((r) => r.status === 403)).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('duplicated and reordered callbacks, some before the create returns, are harmless', async () => {
    const { fake, queue, errors, released } = await setup({
      duplicateCallbacks: 3,
      reorderCallbacks: true,
      callbacksBeforeCreateResponse: 3,
      callDurationMs: 20,
    });
    const run = await queue.startRun({ businessId: 'biz-3', concurrency: 3, leads: leads(9) });
    const summary = await queue.waitForRun(run.runId, { timeoutMs: 30_000 });
    await fake.idle();

    expect(summary.counts.completed).toBe(9);
    expect(fake.maxLiveCalls).toBeLessThanOrEqual(3);
    expect(fake.creates).toHaveLength(9);
    const jobs = await allJobs(queue, run.runId);
    for (const job of jobs) {
      expect(job.status).toBe('completed');
      expect(fake.calls.get(job.callId!)?.to).toBe(job.to);
    }
    // every terminal callback was sent 3 times and a stale ringing after it: the slot went back once
    expect([...released].sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect(fake.callbacks.every((c) => c.responseStatus === 204)).toBe(true);
    expect(errors).toEqual([]); // no callback mistaken for a lock conflict
  });

  it('hands a status callback that arrives before dial() returns to the job', async () => {
    const { fake, queue, errors } = await setup({ callbacksBeforeCreateResponse: 2, callDurationMs: 20 });
    const seen: CallEvent['status'][] = [];
    const run = await queue.startRun({ businessId: 'biz-4', concurrency: 2, leads: leads(4) });
    queue.on('job:ended', (e) => seen.push(e.status === 'completed' ? 'completed' : 'failed'));
    const summary = await queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    await fake.idle();
    expect(summary.counts.completed).toBe(4);
    expect(seen).toHaveLength(4);
    expect(errors).toEqual([]);
  });

  it('retries by outcome over signed callbacks: busy then answered, a machine then a person, no answer twice', async () => {
    const [busyFirst, machineFirst, neverAnswers, answers] = leads(4).map((l) => l.to) as [
      string,
      string,
      string,
      string,
    ];
    const placed = new Map<string, number>();
    const nth = (to: string) => placed.get(to) ?? 0;
    const { fake, queue, errors } = await setup(
      {
        outcome: (to) => {
          placed.set(to, nth(to) + 1);
          if (to === neverAnswers) return 'no-answer';
          return to === busyFirst && nth(to) === 1 ? 'busy' : 'completed';
        },
        answeredBy: (to) => (to === machineFirst && nth(to) === 1 ? 'machine_start' : 'human'),
      },
      { machineDetection: 'Enable' },
    );
    const run = await queue.startRun({
      businessId: 'biz-retry',
      concurrency: 2,
      leads: leads(4),
      retry: {
        busy: { maxAttempts: 2, delayMs: 50 },
        no_answer: { maxAttempts: 2, delayMs: 50 },
        machine: { maxAttempts: 3, delayMs: 50 },
      },
    });
    const summary = await queue.waitForRun(run.runId, { timeoutMs: 20_000 });
    await fake.idle();
    expect(summary.counts).toMatchObject({ completed: 3, no_answer: 1 });
    expect(fake.maxLiveCalls).toBeLessThanOrEqual(2);
    const placedTo = (to: string) => fake.creates.filter((c) => c.to === to && c.status === 201).length;
    expect([busyFirst, machineFirst, neverAnswers, answers].map(placedTo)).toEqual([2, 2, 2, 1]);
    const jobs = await allJobs(queue, run.runId);
    const history = async (to: string) =>
      (await queue.getJob(jobs.find((j) => j.to === to)!.jobId)).attempts?.map((a) => [
        a.status,
        a.answeredBy,
      ]);
    expect(await history(busyFirst)).toEqual([
      ['busy', undefined],
      ['completed', 'human'],
    ]);
    expect(await history(machineFirst)).toEqual([
      ['completed', 'machine_start'],
      ['completed', 'human'],
    ]);
    expect(await history(neverAnswers)).toEqual([
      ['no_answer', undefined],
      ['no_answer', undefined],
    ]);
    // Each attempt's call is its own: a new call id each time.
    for (const job of jobs) {
      const ids = (await queue.getJob(job.jobId)).attempts?.map((a) => a.callId) ?? [];
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(fake.calls.get(id!)?.to).toBe(job.to);
    }
    expect(errors).toEqual([]);
  });
  it('a calling window: a lead in a closed zone waits while a lead in an open zone dials', async () => {
    // Zones picked from the real clock: one near noon (inside 06:00 to 18:00), one near midnight.
    const etc = (k: number) => (k === 0 ? 'Etc/GMT' : k > 0 ? `Etc/GMT-${k}` : `Etc/GMT+${-k}`);
    const noon = 12 - new Date().getUTCHours();
    const midnight = noon - 12 < -12 ? noon + 12 : noon - 12;
    const [closed, open] = leads(2).map((l) => l.to) as [string, string];
    const { fake, queue, errors } = await setup({ outcome: () => 'completed' });
    const run = await queue.startRun({
      businessId: 'biz-window',
      concurrency: 1,
      window: { hours: [{ start: '06:00', end: '18:00' }] },
      leads: [
        { to: closed, timeZone: etc(midnight) },
        { to: open, timeZone: etc(noon) },
      ],
    });
    await eventually(async () => (await queue.getRun(run.runId)).counts.completed === 1, 20_000);
    await fake.idle();
    expect(fake.creates.map((c) => c.to)).toEqual([open]);
    const summary = await queue.getRun(run.runId);
    expect(summary.waiting?.window).toBe(1);
    expect(summary.counts.queued).toBe(1);
    const stopped = await queue.stop(run.runId);
    expect(stopped.counts).toMatchObject({ completed: 1, canceled: 1 });
    expect(fake.creates.map((c) => c.to)).toEqual([open]);
    expect(errors).toEqual([]);
  });
});

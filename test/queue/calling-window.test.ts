import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { CallingWindow } from '../../src/policy/calling-window.js';
import { wallClockAt } from '../../src/policy/local-time.js';
import { US_CALLING_RULES } from '../../src/policy/us-calling-rules.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer, type RecordingDialerOptions } from '../support/recording-dialer.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** 09:00 to 17:00 local, five minutes' margin before the end. */
const OFFICE: CallingWindow = { hours: [{ start: '09:00', end: '17:00' }], endMarginMs: 5 * MINUTE };
/** New York (open at the clock's start: 10:00 EST on Monday 2026-01-05) and San Francisco (07:00 PST). */
const NEW_YORK = '+12125550100';
const SAN_FRANCISCO = '+14155550111';

/** Calling windows on a virtual clock that starts on Monday 2026-01-05 at 15:00 UTC. */
describe('calling windows in the lead’s local time', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function start(options: RecordingDialerOptions = {}) {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: MINUTE, clock, ...options });
    fx = await startQueue(dialer, { clock, limiter: new MemorySlotLimiter({ clock }) });
    return { dialer, clock, queue: fx.queue };
  }

  /** The local hour and minute of each call's start, in `zone`. */
  function localStarts(dialer: RecordingDialer, to: string, zone: string): string[] {
    return dialer.calls
      .filter((c) => c.to === to)
      .map((c) => new Date(wallClockAt(zone, c.startedAt).wallMs).toISOString().slice(11, 16));
  }

  it('a lead in a closed zone waits, without a slot, while a lead in an open zone dials', async () => {
    const { dialer, clock, queue } = await start();
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      window: OFFICE,
      leads: [{ to: SAN_FRANCISCO }, { to: NEW_YORK }],
    });
    await clock.advance(5 * MINUTE);
    // The San Francisco lead comes first but waits: the New York one took the only slot.
    expect(dialer.calls.map((c) => c.to)).toEqual([NEW_YORK]);
    const waiting = await queue.getRun(run.runId);
    expect(waiting.waiting).toEqual({ retry: 0, scheduled: 0, window: 1, cap: 0 });
    expect(waiting.counts.queued).toBe(1);
    const sf = await queue.getJob(
      (await queue.listJobs(run.runId)).find((j) => j.to === SAN_FRANCISCO)!.jobId,
    );
    expect(sf.timeZone).toBe('America/Los_Angeles');
    expect(sf.retryAt?.toISOString()).toBe('2026-01-05T17:00:00.000Z');
    // Woken by its run's timer at 09:00 in San Francisco, not polled.
    await clock.advance(2 * HOUR);
    expect(localStarts(dialer, SAN_FRANCISCO, 'America/Los_Angeles')).toEqual(['09:00']);
    await clock.advance(5 * MINUTE);
    expect((await queue.getRun(run.runId)).status).toBe('completed');
  });

  it('a job that waited in line past its window’s end is put back for the next opening', async () => {
    // One slot; the first call lasts until after 17:00 in New York (22:00 UTC).
    const { dialer, clock, queue } = await start({ durationMs: 7 * HOUR });
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      window: OFFICE,
      leads: [{ to: NEW_YORK }, { to: '+12125550101' }],
    });
    await clock.advance(8 * HOUR);
    expect(dialer.calls).toHaveLength(1);
    const second = await queue.getJob((await queue.listJobs(run.runId))[1]!.jobId);
    expect(second.status).toBe('queued');
    expect(second.retryAt?.toISOString()).toBe('2026-01-06T14:00:00.000Z');
    expect((await queue.getRun(run.runId)).waiting?.window).toBe(1);
    await clock.advance(16 * HOUR);
    expect(localStarts(dialer, '+12125550101', 'America/New_York')).toEqual(['09:00']);
  });

  it('starts no call in the last minutes of a window, nor on a blocked date or a closed day', async () => {
    const { dialer, clock, queue } = await start();
    // 16:56 in New York is inside the margin; Tuesday is blocked, Wednesday not a calling day.
    await clock.advance(6 * HOUR + 56 * MINUTE);
    await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      window: { ...OFFICE, days: ['mon', 'tue', 'thu'], blockedDates: ['2026-01-06'] },
      leads: [{ to: NEW_YORK }],
    });
    await clock.advance(3 * 24 * HOUR);
    expect(dialer.calls.map((c) => new Date(c.startedAt).toISOString())).toEqual([
      '2026-01-08T14:00:00.000Z',
    ]);
  });

  it('obeys the US rule set: a Florida lead not after 20:00, whatever the run’s window says', async () => {
    const { dialer, clock, queue } = await start();
    // 20:30 in Miami (01:30 UTC on Tuesday).
    await clock.advance(10 * HOUR + 30 * MINUTE);
    await queue.startRun({
      businessId: 'b',
      concurrency: 2,
      window: { hours: [{ start: '08:00', end: '22:00' }], endMarginMs: 0, rules: US_CALLING_RULES },
      leads: [{ to: '+13055550100' }, { to: NEW_YORK }],
    });
    await clock.advance(MINUTE);
    expect(dialer.calls.map((c) => c.to)).toEqual([NEW_YORK]);
    await clock.advance(12 * HOUR);
    expect(localStarts(dialer, '+13055550100', 'America/New_York')).toEqual(['08:00']);
  });

  it('a lead’s own timeZone wins over its number, and the window’s timeZone covers numbers without one', async () => {
    const { dialer, clock, queue } = await start();
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 2,
      window: { ...OFFICE, timeZone: 'America/Chicago' },
      // A New York number whose owner lives in Los Angeles; a toll-free number (no zone of its own).
      leads: [{ to: NEW_YORK, timeZone: 'America/Los_Angeles' }, { to: '+18005550100' }],
    });
    await clock.advance(MINUTE);
    const jobs = await queue.listJobs(run.runId);
    expect(jobs.map((j) => j.timeZone)).toEqual(['America/Los_Angeles', 'America/Chicago']);
    expect(dialer.calls.map((c) => c.to)).toEqual(['+18005550100']);
  });

  it('a stopped run’s jobs waiting for their window end canceled', async () => {
    const { dialer, clock, queue } = await start();
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      window: OFFICE,
      leads: [{ to: SAN_FRANCISCO }],
    });
    await clock.advance(MINUTE);
    const stopped = await queue.stop(run.runId);
    expect(stopped.counts.canceled).toBe(1);
    await clock.advance(4 * HOUR);
    expect(dialer.calls).toHaveLength(0);
  });

  it('refuses a window it cannot keep, naming each field and lead, and writes nothing', async () => {
    const { queue } = await start();
    const refused = async (input: Parameters<typeof queue.startRun>[0]) => {
      const err = await queue.startRun(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues.map((i) => `${i.row ?? '-'} ${i.field}`);
    };
    expect(
      await refused({
        businessId: 'b',
        concurrency: 1,
        leads: [{ to: NEW_YORK }],
        window: {
          hours: [{ start: '18:00', end: '09:00' }],
          days: ['someday' as 'mon'],
          blockedDates: ['2026-02-30', '2026-13-01'],
          timeZone: 'Mars/Olympus',
          endMarginMs: -1,
        },
      }),
    ).toEqual([
      '- window.hours[0]',
      '- window.days',
      '- window.blockedDates',
      '- window.timeZone',
      '- window.endMarginMs',
    ]);
    // A toll-free number with no zone anywhere; a window the federal rule closes for good.
    expect(
      await refused({ businessId: 'b', concurrency: 1, window: OFFICE, leads: [{ to: '+18005550100' }] }),
    ).toEqual(['0 timeZone']);
    expect(
      await refused({
        businessId: 'b',
        concurrency: 1,
        window: { hours: [{ start: '22:00', end: '23:00' }], rules: US_CALLING_RULES },
        leads: [{ to: NEW_YORK }],
      }),
    ).toEqual(['0 to']);
    expect(
      await refused({ businessId: 'b', concurrency: 1, leads: [{ to: NEW_YORK, timeZone: 'Nowhere/City' }] }),
    ).toEqual(['0 timeZone']);
    expect(await queue.listRuns()).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

const LEASE_MS = 30_000;

/**
 * A provider's calls-per-second cap with more slots granted at once than it can start within one
 * lease (Twilio's default is one call per second per account): 20 businesses at concurrency 3 is
 * a minute of backlog at the start. Granted slots wait their dial turn; none may expire meanwhile,
 * be granted twice, or be freed by a losing claim. On a virtual clock: minutes in milliseconds.
 */
describe('a dial-rate backlog many leases long', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('dials every job once, within the limit, and close() returns', async () => {
    const clock = new VirtualClock();
    const dialer = new RecordingDialer({ durationMs: 20_000, clock });
    fx = await startQueue(dialer, {
      clock,
      limiter: new MemorySlotLimiter({ clock }),
      leaseMs: LEASE_MS,
      dialsPerSecond: 1,
    });
    const businesses = 20;
    // One provider account: the queue's dialsPerSecond spaces the group's dials as one.
    for (let b = 0; b < businesses; b++)
      await fx.queue.setBusinessLimits(`cps-${b}`, { concurrency: 3, group: 'account' });
    const runs = await Promise.all(
      Array.from({ length: businesses }, (_, b) =>
        fx!.queue.startRun({ businessId: `cps-${b}`, concurrency: 3, leads: leads(6, b * 6) }),
      ),
    );
    // 120 dials at 1.1 s apart: about 132 s of dialing; allow ten minutes of virtual time.
    for (let step = 0; step < 600; step++) {
      await clock.advance(1_000);
      const summaries = await Promise.all(runs.map((r) => fx!.queue.getRun(r.runId)));
      if (summaries.every((s) => s.status === 'completed')) break;
    }
    const summaries = await Promise.all(runs.map((r) => fx!.queue.getRun(r.runId)));
    // No grant outlived its lease while it waited its turn.
    expect(fx.logger.named('OUTBOUND_SLOT_EXPIRED')).toEqual([]);
    expect(summaries.map((s) => s.status)).toEqual(runs.map(() => 'completed'));
    expect(summaries.map((s) => s.counts.completed)).toEqual(runs.map(() => 6));
    expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
    expect(dialer.calls).toHaveLength(businesses * 6);
    for (let b = 0; b < businesses; b++) expect(dialer.maxConcurrent(`cps-${b}`)).toBeLessThanOrEqual(3);
    // Starts stay spaced at the rate all along.
    const starts = dialer.calls.map((c) => c.startedAt).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(1_000);
    const closing = fx.queue.close();
    await clock.advance(LEASE_MS);
    await closing;
    fx = undefined;
  });
});

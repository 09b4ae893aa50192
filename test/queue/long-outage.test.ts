import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { JobTransition, TransitionResult } from '../../src/store/job-store.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { VirtualClock } from '../simulation/virtual-clock.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { sqliteDb } from '../support/sqlite.js';

/** A store whose writes of call progress fail while `down` is set, as a database cut off would. */
class CutOffStore extends KyselyStore {
  down = false;
  refused = 0;

  override async transition(change: JobTransition, now: number): Promise<TransitionResult> {
    if (this.down) {
      this.refused += 1;
      throw new Error('connect ECONNREFUSED (database unreachable)');
    }
    return super.transition(change, now);
  }
}

/**
 * Issue 11 point 2: the database unreachable for much longer than a few seconds while calls end.
 * The in-process dialer's end reports have no provider to send them again: the process keeps
 * them until they are written, and hands the slots on only then.
 */
describe('the database unreachable for a minute while calls end', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('keeps every end report until it is written: the run completes, never over the limit', async () => {
    const clock = new VirtualClock();
    const db = sqliteDb();
    const store = new CutOffStore({ db });
    const dialer = new SimulatedDialer({ clock, durationMs: 5_000 });
    fx = await startQueue(dialer, { db, store, clock, limiter: new MemorySlotLimiter({ clock }) });
    const run = await fx.queue.startRun({ businessId: 'o', concurrency: 3, leads: leads(9) });
    await clock.advance(1_000);
    store.down = true;
    let mostLive = 0;
    for (let s = 0; s < 60; s++) {
      await clock.advance(1_000);
      mostLive = Math.max(mostLive, (await fx.queue.getRun(run.runId)).active);
    }
    expect(store.refused).toBeGreaterThan(3);
    store.down = false;
    for (let s = 0; s < 120 && (await fx.queue.getRun(run.runId)).status !== 'completed'; s++) {
      await clock.advance(1_000);
      mostLive = Math.max(mostLive, (await fx.queue.getRun(run.runId)).active);
    }
    const done = await fx.queue.getRun(run.runId);
    expect(done.status).toBe('completed');
    expect(done.counts.completed).toBe(9);
    expect(mostLive).toBeLessThanOrEqual(3);
    await fx.close();
    fx = undefined;
    await db.destroy();
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { CallerIdPool } from '../../src/queue/caller-id-pool.js';
import { eventually, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('caller id from a pool (fromPool)', () => {
  const pool = new CallerIdPool(['+12125550100', '+13125550100', '+442079460000', '+13125550199']);

  it("picks the number of the lead's area code, else of its country, else none", () => {
    expect(pool.pick('+13125550123')).toBe('+13125550100'); // Chicago: the first 312 number
    expect(pool.pick('+12125550123')).toBe('+12125550100'); // New York
    expect(pool.pick('+14155550123')).toBe('+12125550100'); // no 415 in the pool: a +1 number
    expect(pool.pick('+447911123456')).toBe('+442079460000'); // a UK mobile: the UK number
    expect(pool.pick('+33123456789')).toBeUndefined(); // France: nothing in the pool
  });

  it("calls each lead from its pick; a lead's own from wins; the run's from is the last resort", async () => {
    const dialer = new RecordingDialer();
    const fx = await startQueue(dialer);
    try {
      const run = await fx.queue.startRun({
        businessId: 'pool',
        concurrency: 3,
        from: '+14155550100',
        fromPool: ['+12125550100', '+13125550100'],
        leads: [
          { to: '+13125550123' },
          { to: '+12125550123', from: '+16175550100' },
          { to: '+447911123456' },
        ],
      });
      await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
      await eventually(() => dialer.calls.length === 3);
      const fromOf = (to: string) => dialer.calls.find((c) => c.to === to)?.from;
      expect(fromOf('+13125550123')).toBe('+13125550100');
      expect(fromOf('+12125550123')).toBe('+16175550100');
      expect(fromOf('+447911123456')).toBe('+14155550100');
    } finally {
      await fx.close();
    }
  });

  it('refuses a pool that is empty, not E.164, or repeats a number, naming each entry', async () => {
    const fx = await startQueue(new RecordingDialer());
    try {
      const leads = [{ to: '+13125550123' }];
      const empty = await fx.queue
        .startRun({ businessId: 'p', concurrency: 1, leads, fromPool: [] })
        .catch((e) => e);
      expect((empty as ValidationError).issues.map((i) => i.field)).toEqual(['fromPool']);
      const bad = await fx.queue
        .startRun({
          businessId: 'p',
          concurrency: 1,
          leads,
          fromPool: ['+12125550100', '555', '+12125550100'],
        })
        .catch((e) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).issues.map((i) => i.field)).toEqual(['fromPool[1]', 'fromPool[2]']);
    } finally {
      await fx.close();
    }
  });
});

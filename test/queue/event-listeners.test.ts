import { afterEach, describe, expect, it } from 'vitest';
import type { JobDialedEvent } from '../../src/queue/queue-events.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('event listeners', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('a listener that throws or rejects neither stops dispatch nor the listeners after it', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 5 }));
    const later: JobDialedEvent[] = [];
    fx.queue.on('job:dialed', () => {
      throw new Error('a host listener failed');
    });
    fx.queue.on('job:dialed', async () => {
      throw new Error('an async host listener failed');
    });
    fx.queue.on('job:dialed', (e) => later.push(e));
    const run = await fx.queue.startRun({ businessId: 'l', concurrency: 2, leads: leads(6) });
    const done = await fx.queue.waitForRun(run.runId, { timeoutMs: 10_000 });
    expect(done.counts.completed).toBe(6);
    expect(later).toHaveLength(6);
  });
});

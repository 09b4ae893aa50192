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

describe('run:status', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => fx?.close());

  it('tells of each status this process writes: started, paused, resumed, stopped', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 'manual' }));
    const told: string[] = [];
    fx.queue.on('run:status', (e) => told.push(`${e.runId}:${e.status}`));
    const run = await fx.queue.startRun({ runId: 's', businessId: 'l', concurrency: 1, leads: leads(3) });
    await fx.queue.startRun({ runId: 's', businessId: 'l', concurrency: 1, leads: leads(3) }); // the same run
    await fx.queue.pause(run.runId);
    await fx.queue.pause(run.runId); // already paused: nothing written
    await fx.queue.resume(run.runId);
    await fx.queue.stop(run.runId);
    await fx.queue.stop(run.runId);
    expect(told).toEqual(['s:running', 's:paused', 's:running', 's:stopped']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardQueue } from '../../src/dashboard.js';
import type { Dialer } from '../../src/dialer/dialer.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import type { RunSummary } from '../../src/types.js';
import { eventually, leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';

/** One message of the stream, with when it was read. */
interface Message {
  event?: string;
  data?: unknown;
  comment?: string;
  at: number;
}

/** Reads an event stream in the background, message by message. */
class StreamReader {
  readonly messages: Message[] = [];
  done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly reading: Promise<void>;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
    this.reading = this.read();
  }

  runs(runId?: string): (RunSummary & { at: number })[] {
    return this.messages
      .filter((m) => m.event === 'run' && (runId === undefined || (m.data as RunSummary).runId === runId))
      .map((m) => ({ ...(m.data as RunSummary), at: m.at }));
  }

  /** Waits for a message that `match` accepts (a deadline, not a sleep). */
  async until(match: (message: Message) => boolean): Promise<Message> {
    let found: Message | undefined;
    await eventually(() => {
      found = this.messages.find(match);
      return found !== undefined || this.done;
    }, 20_000);
    if (!found) throw new Error('the stream ended without the message');
    return found;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel();
    await this.reading;
  }

  async ended(): Promise<void> {
    await this.reading;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          this.messages.push(parse(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
      }
    } finally {
      this.done = true;
    }
  }
}

function parse(block: string): Message {
  const message: Message = { at: Date.now() };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    else if (line.startsWith('event: ')) message.event = line.slice(7);
    else if (line.startsWith('data: ')) message.data = JSON.parse(line.slice(6));
    else throw new Error(`unexpected line ${JSON.stringify(line)}`);
  }
  return message;
}

/** The queue with its `on`/`off` listeners and reads counted. */
function watched(queue: DashboardQueue) {
  /** Listeners added and not removed, as `event` and listener. */
  const listeners: [string, unknown][] = [];
  const reads = { getRun: 0, listRuns: 0, getBusiness: 0 };
  const wrapper: DashboardQueue = Object.create(queue);
  wrapper.on = (event, listener) => {
    listeners.push([event, listener]);
    queue.on(event, listener);
    return wrapper as never;
  };
  wrapper.off = (event, listener) => {
    const at = listeners.findIndex(([e, l]) => e === event && l === listener);
    if (at >= 0) listeners.splice(at, 1);
    queue.off(event, listener);
    return wrapper as never;
  };
  wrapper.getRun = (runId) => {
    reads.getRun++;
    return queue.getRun(runId);
  };
  wrapper.getBusiness = (businessId) => {
    reads.getBusiness++;
    return queue.getBusiness(businessId);
  };
  wrapper.listRuns = (options) => {
    reads.listRuns++;
    return queue.listRuns(options);
  };
  return { queue: wrapper, listeners, reads };
}

let fx: QueueFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function setUp(
  dialer: Dialer,
  options: { refreshMs?: number; pingMs?: number; logger?: MemoryLogger } = {},
) {
  fx = await startQueue(dialer);
  const w = watched(fx.queue);
  const handler = createDashboardHandler({ queue: w.queue, authorize: () => true, ...options });
  return {
    ...w,
    handler,
    open: async (init?: RequestInit) => {
      const res = await handler(new Request('http://h/api/events', init));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      return new StreamReader(res);
    },
  };
}

describe('GET api/events', () => {
  it('opens with every live run and its business, then follows a run to its completion', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const { open, queue } = await setUp(dialer);
    const paused = await queue.startRun({ businessId: 'a', concurrency: 1, leads: leads(1, 90) });
    await queue.pause(paused.runId);
    const done = await queue.startRun({ businessId: 'a', concurrency: 1, leads: leads(1, 95) });
    await eventually(() => dialer.calls.length === 1);
    await dialer.end(dialer.calls[0]!.callId);
    await fx!.queue.waitForRun(done.runId, { timeoutMs: 5000 });
    const running = await queue.startRun({ businessId: 'b', concurrency: 2, leads: leads(3) });
    await eventually(() => dialer.liveCalls().length === 2);

    const stream = await open();
    await stream.until(
      (m) => m.event === 'business' && (m.data as { businessId: string }).businessId === 'b',
    );
    const first = stream.runs();
    expect(first.map((r) => [r.runId, r.status]).sort()).toEqual(
      [
        [paused.runId, 'paused'],
        [running.runId, 'running'],
      ].sort(),
    );
    expect(first.find((r) => r.runId === running.runId)).toMatchObject({ active: 2, waiting: { retry: 0 } });
    const business = stream.messages.filter((m) => m.event === 'business').map((m) => m.data);
    expect(business).toEqual(
      expect.arrayContaining([
        { businessId: 'a', active: 0, limit: 1, waiting: 1 },
        { businessId: 'b', active: 2, limit: 2, waiting: 1 },
      ]),
    );

    while (dialer.liveCalls().length > 0) {
      for (const call of dialer.liveCalls()) await dialer.end(call.callId);
      await eventually(() => dialer.liveCalls().length > 0 || dialer.calls.length === 4);
    }
    const last = await stream.until(
      (m) =>
        m.event === 'run' &&
        (m.data as RunSummary).runId === running.runId &&
        (m.data as RunSummary).status === 'completed',
    );
    expect((last.data as RunSummary).counts).toMatchObject({ completed: 3, queued: 0 });
    expect(typeof (last.data as RunSummary).finishedAt).toBe('string');
    await stream.cancel();
  });

  it('sends at most one run message per run per 250 ms while it dials', async () => {
    const { open, queue } = await setUp(new SimulatedDialer({ durationMs: [5, 25] }), { refreshMs: 60_000 });
    const stream = await open();
    const run = await queue.startRun({ businessId: 'busy', concurrency: 3, leads: leads(40) });
    await stream.until((m) => m.event === 'run' && (m.data as RunSummary).status === 'completed');
    const sent = stream.runs(run.runId);
    // Each job dials and ends: 80 events, and the stream sent a handful of messages.
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.length).toBeLessThan(40);
    // Spaced by 250 ms when sent; read here a few ms later or earlier each.
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(200);
    expect(sent.at(-1)!.counts.completed).toBe(40);
    await stream.cancel();
  });

  it('shows changes made through the dashboard at once, and changes made elsewhere at the next refresh', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const { open, queue, handler } = await setUp(dialer, { refreshMs: 300 });
    const run = await queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(2) });
    await eventually(() => dialer.calls.length === 1);
    const stream = await open();
    await stream.until((m) => m.event === 'run');

    const pausedAt = Date.now();
    const res = await handler(
      new Request(`http://h/api/runs/${run.runId}/pause`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(res.status).toBe(200);
    const paused = await stream.until((m) => m.event === 'run' && (m.data as RunSummary).status === 'paused');
    expect(paused.at - pausedAt).toBeLessThan(300);

    // Not through the dashboard, and without a queue event: the refresh finds it.
    await queue.resume(run.runId);
    await stream.until(
      (m) => m.event === 'run' && m.at > paused.at && (m.data as RunSummary).status === 'running',
    );
    // A run that is no longer live gets one last message.
    await queue.stop(run.runId);
    await stream.until((m) => m.event === 'run' && (m.data as RunSummary).status === 'stopped');
    await stream.cancel();
  });

  it('removes its listeners and timers when the client cancels the stream', async () => {
    const { open, queue, listeners, reads } = await setUp(new SimulatedDialer({ durationMs: 5 }), {
      refreshMs: 100,
      pingMs: 100,
    });
    await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      leads: leads(1),
      startAt: Date.now() + 3_600_000,
    });
    const stream = await open();
    await stream.until((m) => m.comment === 'ping');
    await stream.until((m) => m.event === 'run');
    expect(listeners.map(([event]) => event).sort()).toEqual([
      'job:dialing',
      'job:ended',
      'run:completed',
      'run:status',
    ]);
    await stream.cancel();
    expect(listeners).toEqual([]);
    const after = { ...reads };
    await new Promise((resolve) => setTimeout(resolve, 400)); // several refresh periods: none may read
    expect(reads).toEqual(after);
  });

  it('shares one reader between streams: one listener per event, reads that do not grow with the streams', async () => {
    const dialer = new RecordingDialer({ durationMs: 'manual' });
    const { open, queue, listeners, reads } = await setUp(dialer, { refreshMs: 60_000 });
    const run = await queue.startRun({ businessId: 'b', concurrency: 1, leads: leads(3) });
    await eventually(() => dialer.calls.length === 1);
    const first = await open();
    await first.until((m) => m.event === 'business');
    const opened = { ...reads };
    const second = await open();
    await second.until((m) => m.event === 'business');
    // The second stream started from the reader's state: no read of its own.
    expect(reads).toEqual(opened);
    expect(listeners.map(([event]) => event).sort()).toEqual([
      'job:dialing',
      'job:ended',
      'run:completed',
      'run:status',
    ]);

    const before = { ...reads };
    const sent = [first.runs(run.runId).length, second.runs(run.runId).length];
    await dialer.end(dialer.calls[0]!.callId);
    const done = (m: { event?: string; data?: unknown }) =>
      m.event === 'run' &&
      (m.data as RunSummary).counts.completed === 1 &&
      (m.data as RunSummary).active === 1;
    await first.until(done);
    await second.until(done);
    // One read of the run and one of its business per flush, for both streams together.
    await eventually(() => {
      const flushes = first.runs(run.runId).length - sent[0]!;
      return (
        second.runs(run.runId).length - sent[1]! === flushes &&
        reads.getRun - before.getRun === flushes &&
        reads.getBusiness - before.getBusiness === flushes
      );
    }, 5000);
    expect(reads.getRun - before.getRun).toBeLessThanOrEqual(2);

    await first.cancel();
    expect(listeners).toHaveLength(4);
    await second.cancel();
    expect(listeners).toEqual([]);
  });

  it("ends when the request's signal aborts", async () => {
    const { open, listeners } = await setUp(new SimulatedDialer({ durationMs: 5 }));
    const aborted = new AbortController();
    const stream = await open({ signal: aborted.signal });
    expect(listeners.map(([event]) => event).sort()).toEqual([
      'job:dialing',
      'job:ended',
      'run:completed',
      'run:status',
    ]);
    aborted.abort();
    await stream.ended();
    expect(listeners).toEqual([]);
  });

  it('waits out a slow read without piling reads up, and pings meanwhile', async () => {
    const { open, queue } = await setUp(new SimulatedDialer({ durationMs: 5 }), {
      refreshMs: 100,
      pingMs: 100,
    });
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      leads: leads(1),
      startAt: Date.now() + 3_600_000,
    });
    const getRun = queue.getRun;
    let reading = 0;
    let mostAtOnce = 0;
    queue.getRun = async (runId) => {
      mostAtOnce = Math.max(mostAtOnce, ++reading);
      await new Promise((resolve) => setTimeout(resolve, 600));
      reading--;
      return getRun(runId);
    };
    const stream = await open();
    await stream.until((m) => m.comment === 'ping');
    const first = await stream.until((m) => m.event === 'run');
    expect((first.data as RunSummary).runId).toBe(run.runId);
    expect(mostAtOnce).toBe(1);
    await stream.cancel();
  });

  it('logs a failed read once and goes on', async () => {
    const logger = new MemoryLogger();
    const { open, queue } = await setUp(new SimulatedDialer({ durationMs: 5 }), { refreshMs: 100, logger });
    const run = await queue.startRun({
      businessId: 'b',
      concurrency: 1,
      leads: leads(1),
      startAt: Date.now() + 3_600_000,
    });
    const getRun = queue.getRun;
    let failures = 3;
    queue.getRun = (runId) => (failures-- > 0 ? Promise.reject(new Error('store down')) : getRun(runId));
    const listRuns = queue.listRuns;
    let listFailures = 2;
    queue.listRuns = (options) =>
      listFailures-- > 0 ? Promise.reject(new Error('store down')) : listRuns(options);
    const stream = await open();
    const message = await stream.until((m) => m.event === 'run');
    expect((message.data as RunSummary).runId).toBe(run.runId);
    expect(failures).toBeLessThan(0);
    expect(logger.named('OUTBOUND_DASHBOARD_READ_FAILED')).toHaveLength(1);
    expect(stream.done).toBe(false);
    await stream.cancel();
  });
});

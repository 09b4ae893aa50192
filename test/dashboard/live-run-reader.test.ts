import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardQueue } from '../../src/dashboard.js';
import type { BusinessSummary, RunSummary } from '../../src/types.js';
import { eventually } from '../support/queue-fixture.js';

/**
 * A queue of made-up runs that counts its reads and listeners: the reader's load is measured from
 * outside, as the store would see it.
 */
class FakeQueue {
  readonly runs = new Map<string, RunSummary>();
  readonly listeners = new Map<string, Set<(event: { runId: string }) => void>>();
  readonly reads = { getRun: 0, getBusiness: 0, listRuns: 0 };
  /** Run reads in the order they were made. */
  readonly runReads: string[] = [];
  readingNow = 0;
  mostAtOnce = 0;

  /** Adds a live run `created` ms after the epoch. */
  add(runId: string, businessId: string, created: number): void {
    this.runs.set(runId, {
      runId,
      businessId,
      status: 'running',
      concurrency: 1,
      priority: 1,
      total: 0,
      counts: {} as RunSummary['counts'],
      active: 0,
      createdAt: new Date(created),
    });
  }

  /** Changes a run (its `total` counts the versions) and emits `job:ended` for it. */
  change(runId: string): void {
    const run = this.runs.get(runId)!;
    this.runs.set(runId, { ...run, total: run.total + 1 });
    for (const listener of this.listeners.get('job:ended') ?? []) listener({ runId });
  }

  listenerCount(): number {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }

  asQueue(): DashboardQueue {
    const fail = () => Promise.reject(new Error('not used'));
    const queue = {
      startRun: fail,
      listJobs: fail,
      getJob: fail,
      pause: fail,
      resume: fail,
      stop: fail,
      listRuns: async () => {
        this.reads.listRuns++;
        return [];
      },
      getRun: async (runId: string) => {
        this.reads.getRun++;
        this.runReads.push(runId);
        this.mostAtOnce = Math.max(this.mostAtOnce, ++this.readingNow);
        await new Promise((resolve) => setTimeout(resolve, 1));
        this.readingNow--;
        return { ...this.runs.get(runId)! };
      },
      getBusiness: async (businessId: string): Promise<BusinessSummary> => {
        this.reads.getBusiness++;
        this.mostAtOnce = Math.max(this.mostAtOnce, ++this.readingNow);
        await new Promise((resolve) => setTimeout(resolve, 1));
        this.readingNow--;
        return { businessId, paused: false, active: 0, waiting: 0, runs: [] };
      },
      on: (event: string, listener: (event: { runId: string }) => void) => {
        const set = this.listeners.get(event) ?? new Set();
        set.add(listener);
        this.listeners.set(event, set);
        return queue;
      },
      off: (event: string, listener: (event: { runId: string }) => void) => {
        this.listeners.get(event)?.delete(listener);
        return queue;
      },
    };
    return queue as unknown as DashboardQueue;
  }
}

/** The messages of one chunk of an event stream. */
type Chunk = { event: string; data: { runId?: string; businessId?: string; total?: number } }[];

/** Reads an event stream chunk by chunk (each chunk is one send of the stream). */
class ChunkReader {
  readonly chunks: Chunk[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private reading: Promise<void> | undefined;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** Reads every chunk as it comes, in the background. */
  follow(): this {
    this.reading = (async () => {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) return;
        this.push(value);
      }
    })();
    return this;
  }

  /** Reads one chunk. */
  async readOne(): Promise<Chunk> {
    const { value } = await this.reader.read();
    return this.push(value!);
  }

  runMessages(): Chunk {
    return this.chunks.flat().filter((m) => m.event === 'run');
  }

  async cancel(): Promise<void> {
    await this.reader.cancel();
    await this.reading;
  }

  private push(value: Uint8Array): Chunk {
    const chunk: Chunk = this.decoder
      .decode(value)
      .split('\n\n')
      .filter((block) => block !== '' && !block.startsWith(':'))
      .map((block) => {
        const [event, data] = block.split('\n');
        return { event: event!.slice('event: '.length), data: JSON.parse(data!.slice('data: '.length)) };
      });
    this.chunks.push(chunk);
    return chunk;
  }
}

let open: ChunkReader[] = [];
afterEach(async () => {
  for (const reader of open) await reader.cancel().catch(() => {});
  open = [];
});

function setUp(refreshMs = 60_000) {
  const fake = new FakeQueue();
  const handler = createDashboardHandler({ queue: fake.asQueue(), authorize: () => true, refreshMs });
  const stream = async () => {
    const reader = new ChunkReader(await handler(new Request('http://h/api/events')));
    open.push(reader);
    return reader;
  };
  return { fake, stream };
}

describe('the event streams of one handler share one reader', () => {
  it('listens once and reads each changed run and business once per flush, however many streams are open', async () => {
    const { fake, stream } = setUp();
    for (let i = 0; i < 6; i++) fake.add(`r${i}`, `b${i % 2}`, i);
    const first = (await stream()).follow();
    const second = (await stream()).follow();
    const third = (await stream()).follow();
    // job:dialing, job:ended and run:completed: one listener each, not one per stream.
    expect(fake.listenerCount()).toBe(4);
    expect([...fake.listeners.keys()].sort()).toEqual([
      'job:dialing',
      'job:ended',
      'run:completed',
      'run:status',
    ]);

    for (let i = 0; i < 6; i++) fake.change(`r${i}`);
    for (const reader of [first, second, third])
      await eventually(() => reader.runMessages().length === 6, 5000);
    expect(fake.reads.getRun).toBe(6);
    // Two businesses, each read once for the flush.
    expect(fake.reads.getBusiness).toBe(2);
    for (const reader of [first, second, third]) {
      expect(reader.chunks).toHaveLength(1);
      expect(reader.chunks[0]!.filter((m) => m.event === 'business').map((m) => m.data.businessId)).toEqual([
        'b0',
        'b1',
      ]);
    }

    // A stream opened now starts from what the reader read: no read of its own.
    const late = (await stream()).follow();
    await eventually(() => late.runMessages().length === 6, 5000);
    expect(fake.reads).toEqual({ getRun: 6, getBusiness: 2, listRuns: 1 });
    expect(late.chunks[0]!.map((m) => m.data.runId ?? m.data.businessId)).toEqual([
      'r5',
      'r4',
      'r3',
      'r2',
      'r1',
      'r0',
      'b1',
      'b0',
    ]);

    await first.cancel();
    await second.cancel();
    await third.cancel();
    expect(fake.listenerCount()).toBe(4);
    await late.cancel();
    expect(fake.listenerCount()).toBe(0);
  });

  it('reads at most 4 at once and 200 runs per flush: those waiting longest first, then the newest', async () => {
    const { fake, stream } = setUp();
    for (let i = 0; i < 250; i++) fake.add(`r${i}`, `b${i % 10}`, i);
    const reader = (await stream()).follow();
    for (let i = 0; i < 250; i++) fake.change(`r${i}`);
    await eventually(() => reader.runMessages().length === 250, 10_000);
    expect(reader.chunks.map((chunk) => chunk.filter((m) => m.event === 'run').length)).toEqual([200, 50]);
    // Ten businesses, read once per flush.
    expect(reader.chunks.map((chunk) => chunk.filter((m) => m.event === 'business').length)).toEqual([
      10, 10,
    ]);
    expect(fake.reads.getBusiness).toBe(20);
    expect(fake.mostAtOnce).toBe(4);

    // All known now: the newest 200 go first, the 50 oldest wait, and go ahead of runs marked later.
    fake.runReads.length = 0;
    const before = reader.chunks.length;
    for (let i = 0; i < 250; i++) fake.change(`r${i}`);
    await eventually(() => reader.chunks.length === before + 1, 10_000);
    fake.change('r249');
    await eventually(() => reader.chunks.length === before + 2, 10_000);
    const [newest, rest] = reader.chunks
      .slice(before)
      .map((chunk) => chunk.filter((m) => m.event === 'run').map((m) => m.data.runId));
    expect(newest).toEqual(Array.from({ length: 200 }, (_, i) => `r${249 - i}`));
    expect(rest).toEqual([...Array.from({ length: 50 }, (_, i) => `r${49 - i}`), 'r249']);
    expect(fake.runReads).toEqual([...newest!, ...rest!]);
  });

  it('keeps each run at most once per 250 ms per stream, and gives a slow client the newest state when it reads', async () => {
    const { fake, stream } = setUp();
    fake.add('r', 'b', 1);
    const quick = (await stream()).follow();
    const slow = await stream();
    fake.change('r');
    // The slow client's first chunk waits in its stream, unread; two more flushes follow.
    await eventually(() => quick.runMessages().length === 1, 5000);
    fake.change('r');
    await eventually(() => quick.runMessages().length === 2, 5000);
    fake.change('r');
    await eventually(() => quick.runMessages().length === 3, 5000);
    expect(quick.runMessages().map((m) => m.data.total)).toEqual([1, 2, 3]);

    expect((await slow.readOne()).map((m) => [m.event, m.data.total])).toEqual([
      ['run', 1],
      ['business', undefined],
    ]);
    const caughtUp = await slow.readOne();
    expect(caughtUp.map((m) => [m.event, m.data.total])).toEqual([
      ['run', 3],
      ['business', undefined],
    ]);
    expect(fake.reads.getRun).toBe(3);
  });

  it('leaves the rest of a flush unread when the last stream closes in the middle of it', async () => {
    const { fake, stream } = setUp();
    for (let i = 0; i < 100; i++) fake.add(`r${i}`, 'b', i);
    const reader = (await stream()).follow();
    for (let i = 0; i < 100; i++) fake.change(`r${i}`);
    await eventually(() => fake.reads.getRun >= 4, 5000);
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The reads under way finish; none begins after the close (100 would take ~25 ms at 4 at once).
    expect(fake.reads.getRun).toBeLessThan(20);
    expect(fake.reads.getBusiness).toBe(0);
  });

  it('stops reading when the last stream closes, and starts again with the next one', async () => {
    const { fake, stream } = setUp(100);
    fake.add('r', 'b', 1);
    const first = (await stream()).follow();
    await eventually(() => fake.reads.listRuns >= 2, 5000);
    await first.cancel();
    expect(fake.listenerCount()).toBe(0);
    const after = { ...fake.reads };
    await new Promise((resolve) => setTimeout(resolve, 350)); // several refresh periods: none may read
    expect(fake.reads).toEqual(after);

    const next = (await stream()).follow();
    expect(fake.listenerCount()).toBe(4);
    fake.change('r');
    await eventually(() => next.runMessages().length === 1, 5000);
  });
});

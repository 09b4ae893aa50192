import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunSummary } from '../types.js';
import { type BusinessLoad, businessLoad } from './business-load.js';
import type { DashboardQueue } from './dashboard-queue.js';

/** What the reader reads from and how often. */
export interface LiveRunReaderSettings {
  /** The queue whose runs are shown. */
  queue: DashboardQueue;
  /** Where failed reads are logged. */
  logger: Logger;
  /** How often the newest live runs are read again (changes made by other processes). */
  refreshMs: number;
}

/** One Server-Sent-Events message, serialised once for every stream it goes to. */
export interface LiveMessage {
  /** The event's name. */
  kind: 'run' | 'business';
  /** The run's or the business's id: a stream that has not sent a message yet keeps the newest per id. */
  id: string;
  /** The whole message, `event:` and `data:` lines and the blank line after them. */
  text: string;
}

/** Receives each flush's messages: the runs read, then their businesses' loads. */
export type LiveMessageListener = (messages: readonly LiveMessage[]) => void;

/** At most one flush (so one message per run) per this many ms. */
export const COALESCE_MS = 250;
/** Live runs read on each refresh, and sent to a stream when it opens. */
export const LIVE_RUNS = 100;
/** Runs read in one flush; the others wait for the next one. */
export const MAX_RUNS_PER_FLUSH = 200;
/** Reads (`getRun`, `getBusiness`) of one flush in flight at once. */
export const MAX_CONCURRENT_READS = 4;

/** A run the reader last read as live, and its message. */
interface KnownRun {
  businessId: string;
  createdAt: number;
  message: LiveMessage;
}

/**
 * The one reader of a dashboard handler's event streams, however many are open: it listens to the
 * queue's events once, reads each changed run once per flush (at most
 * {@link MAX_RUNS_PER_FLUSH}, {@link MAX_CONCURRENT_READS} reads at a time) and each of their
 * businesses once, refreshes the newest live runs every `refreshMs`, and hands each flush's
 * messages to its listener, which fans them out. It keeps the live runs it last read, so that a
 * stream opened later starts from them without a read of its own.
 */
export class LiveRunReader {
  /** Runs to read, each with the flush it was first marked before: those waiting longest go first. */
  private readonly dirty = new Map<string, number>();
  /** Live runs as last read, by id. */
  private readonly known = new Map<string, KnownRun>();
  /** The newest load read of each business of {@link known}. */
  private readonly loads = new Map<string, LiveMessage>();
  /** Live runs as the last refresh listed them: each gets one more read once it is no longer listed. */
  private listed = new Set<string>();
  /** Runs whose read failed: read again at the next refresh. */
  private readonly failed = new Set<string>();
  private readonly stopListening: (() => void)[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private flushes = 0;
  private flushing = false;
  private refreshing = false;
  /** Whether a read failed since the last flush whose reads all worked: an outage is logged once. */
  private failing = false;
  /** Reads failed so far. */
  private failures = 0;
  private stopped = false;

  /**
   * @param settings - the queue, the logger and the refresh period
   * @param listener - given the messages of each flush
   */
  constructor(
    private readonly settings: LiveRunReaderSettings,
    private readonly listener: LiveMessageListener,
  ) {}

  /** Subscribes to the queue's events, starts the refresh timer, reads the live runs. */
  start(): void {
    const { queue, refreshMs } = this.settings;
    const onRun = (event: { runId: string }) => this.mark(event.runId);
    queue.on('job:dialing', onRun);
    queue.on('job:ended', onRun);
    queue.on('run:completed', onRun);
    queue.on('run:status', onRun);
    this.stopListening.push(
      () => queue.off('job:dialing', onRun),
      () => queue.off('job:ended', onRun),
      () => queue.off('run:completed', onRun),
      () => queue.off('run:status', onRun),
    );
    this.refreshTimer = unref(setInterval(() => void this.refresh(), refreshMs));
    void this.refresh();
  }

  /** Removes its listeners and timers; reads under way are dropped when they end. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const stop of this.stopListening.splice(0)) stop();
    clearTimeout(this.flushTimer);
    clearInterval(this.refreshTimer);
  }

  /**
   * What a stream opened now starts with, without a read of its own: the newest {@link LIVE_RUNS}
   * live runs as last read, and their businesses' loads. A live run not read yet is marked or
   * being read: the stream, open by then, gets it with the other streams.
   * @returns the messages, runs first
   */
  snapshot(): LiveMessage[] {
    const runs = [...this.known.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, LIVE_RUNS);
    const loads = [...new Set(runs.map((run) => run.businessId))].flatMap((id) => {
      const load = this.loads.get(id);
      return load === undefined ? [] : [load];
    });
    return [...runs.map((run) => run.message), ...loads];
  }

  private mark(runId: string): void {
    if (this.stopped) return;
    if (!this.dirty.has(runId)) this.dirty.set(runId, this.flushes);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.flushing || this.flushTimer !== undefined || this.dirty.size === 0) return;
    const delay = Math.max(0, this.lastFlushAt + COALESCE_MS - Date.now());
    this.flushTimer = unref(
      setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, delay),
    );
  }

  /**
   * Lists the newest live runs; marks them, those listed last time, and failed reads. A known run
   * not listed is forgotten (if it is still live, its next read brings it back), so that a run
   * another process ended is not handed to new streams as live.
   */
  private async refresh(): Promise<void> {
    if (this.stopped || this.refreshing) return;
    this.refreshing = true;
    try {
      const runs = await this.timed(
        this.settings.queue.listRuns({ status: ['running', 'paused'], limit: LIVE_RUNS }),
      );
      if (this.stopped) return;
      const listed = new Set(runs.map((run) => run.runId));
      for (const runId of [...this.listed, ...this.failed, ...listed]) this.mark(runId);
      for (const runId of this.known.keys()) if (!listed.has(runId)) this.known.delete(runId);
      const businesses = new Set([...this.known.values()].map((run) => run.businessId));
      for (const businessId of this.loads.keys())
        if (!businesses.has(businessId)) this.loads.delete(businessId);
      this.listed = listed;
      this.failed.clear();
      this.schedule();
    } catch (err) {
      this.readFailed(err, {});
    } finally {
      this.refreshing = false;
    }
  }

  /** Reads the marked runs (the longest waiting first, then the newest) and their businesses, and hands the messages on. */
  private async flush(): Promise<void> {
    if (this.stopped) return;
    this.flushing = true;
    const runIds = this.takeDirty();
    this.flushes += 1;
    const failuresBefore = this.failures;
    try {
      const stopped = () => this.stopped;
      const runs = (
        await mapLimited(runIds, MAX_CONCURRENT_READS, (runId) => this.readRun(runId), stopped)
      ).filter((run): run is RunSummary => run !== undefined);
      const businessIds = [...new Set(runs.map((run) => run.businessId))];
      const loads = (
        await mapLimited(
          businessIds,
          MAX_CONCURRENT_READS,
          (businessId) => this.readLoad(businessId),
          stopped,
        )
      ).filter((load): load is BusinessLoad => load !== undefined);
      if (this.stopped) return;
      const messages = [...runs.map((run) => this.noteRun(run)), ...loads.map((load) => this.noteLoad(load))];
      // Counted from the hand-off, however long the reads took: the client sees the messages spaced.
      this.lastFlushAt = Date.now();
      if (messages.length > 0) this.listener(messages);
      // Every read of this flush worked: the next failure is news again.
      if (this.failures === failuresBefore) this.failing = false;
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  /** Removes and returns the runs of the next flush. */
  private takeDirty(): string[] {
    // A run not known yet was most likely just started: it counts as the newest.
    const createdAt = (runId: string) => this.known.get(runId)?.createdAt ?? Number.MAX_SAFE_INTEGER;
    const order = [...this.dirty].sort(
      ([a, aSince], [b, bSince]) => aSince - bSince || createdAt(b) - createdAt(a),
    );
    const taken = order.slice(0, MAX_RUNS_PER_FLUSH).map(([runId]) => runId);
    for (const runId of taken) this.dirty.delete(runId);
    return taken;
  }

  /** Keeps a live run (forgets one that is not) and returns its message. */
  private noteRun(run: RunSummary): LiveMessage {
    const text = message('run', run);
    const live: LiveMessage = { kind: 'run', id: run.runId, text };
    if (run.status === 'running' || run.status === 'paused') {
      const createdAt = new Date(run.createdAt).getTime();
      this.known.set(run.runId, { businessId: run.businessId, createdAt, message: live });
    } else {
      this.known.delete(run.runId);
    }
    return live;
  }

  private noteLoad(load: BusinessLoad): LiveMessage {
    const live: LiveMessage = { kind: 'business', id: load.businessId, text: message('business', load) };
    this.loads.set(load.businessId, live);
    return live;
  }

  private async readRun(runId: string): Promise<RunSummary | undefined> {
    try {
      return await this.timed(this.settings.queue.getRun(runId));
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.known.delete(runId);
        return undefined;
      }
      this.failed.add(runId);
      this.readFailed(err, { run_id: runId });
      return undefined;
    }
  }

  private async readLoad(businessId: string): Promise<BusinessLoad | undefined> {
    try {
      return businessLoad(await this.timed(this.settings.queue.getBusiness(businessId)));
    } catch (err) {
      this.readFailed(err, { business_id: businessId });
      return undefined;
    }
  }

  /**
   * `read`, or a failure after {@link readTimeoutMs}: a store call that never answers (a
   * connection lost without a reset) must not hold every stream of the handler.
   */
  private timed<T>(read: Promise<T>): Promise<T> {
    const ms = readTimeoutMs(this.settings.refreshMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = unref(setTimeout(() => reject(new Error(`no answer from the queue in ${ms} ms`)), ms));
    });
    return Promise.race([read, late]).finally(() => clearTimeout(timer));
  }

  private readFailed(err: unknown, fields: Record<string, unknown>): void {
    this.failures += 1;
    if (this.failing) return;
    this.failing = true;
    this.settings.logger.warn({ err, ...fields }, 'OUTBOUND_DASHBOARD_READ_FAILED');
  }
}

/** How long one read may take: ten seconds, or the refresh period when it is longer. */
function readTimeoutMs(refreshMs: number): number {
  return Math.max(refreshMs, 10_000);
}

/**
 * `fn` of each item, at most `limit` at a time, in the items' order (`fn` must not throw); once
 * `stopped()` says so, the items not begun are left out (undefined).
 */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  stopped: () => boolean,
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length);
  let next = 0;
  const work = async () => {
    while (next < items.length && !stopped()) {
      const at = next++;
      results[at] = await fn(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, work));
  return results;
}

/** One Server-Sent-Events message (JSON has no raw line breaks, so `data` is one line). */
function message(event: 'run' | 'business', data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Lets the host exit while a stream is open (a Node timer; other runtimes' timers lack `unref`).
 * @param timer - a timer
 * @returns the same timer
 */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

import { NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunSummary } from '../types.js';
import { type BusinessLoad, businessLoad } from './business-load.js';
import type { DashboardQueue } from './dashboard-queue.js';
import { dashboardResponse } from './http-responses.js';
import type { RunChanges } from './run-changes.js';

/** What an event stream reads from and how often. */
export interface LiveEventsSettings {
  /** The queue whose runs are shown. */
  queue: DashboardQueue;
  /** Runs changed through the dashboard's own routes. */
  changes: RunChanges;
  /** Where failed reads are logged. */
  logger: Logger;
  /** How often live runs are read again (changes made by other processes). */
  refreshMs: number;
  /** How often a `: ping` comment is sent. */
  pingMs: number;
}

/** At most one `run` message per run per this many ms. */
const COALESCE_MS = 250;
/** Live runs sent when the stream opens, and read again on each refresh. */
const LIVE_RUNS = 100;

/**
 * `GET api/events`: a Server-Sent-Events stream of `run` and `business` messages, ended (its
 * listeners and timers removed) when the client goes away or the request is aborted.
 * @param request - the request (its `signal` ends the stream too)
 * @param settings - the queue, the dashboard's own changes, the logger and the timings
 * @returns the streaming response
 */
export function liveEventsResponse(request: Request, settings: LiveEventsSettings): Response {
  let stream: LiveStream | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const opened = new LiveStream(controller, settings);
      stream = opened;
      if (request.signal.aborted) return opened.close();
      request.signal.addEventListener('abort', () => opened.close(), { once: true });
      opened.open();
    },
    cancel() {
      stream?.close();
    },
  });
  return dashboardResponse(body, 200, {
    'content-type': 'text/event-stream; charset=utf-8',
    // Proxies (nginx) must pass each message on at once.
    'x-accel-buffering': 'no',
  });
}

/**
 * One open event stream: the runs that changed are read again and sent, at most one message per
 * run per {@link COALESCE_MS}, each followed by its business's load.
 */
class LiveStream {
  private readonly encoder = new TextEncoder();
  /** Runs to read and send at the next flush. */
  private readonly dirty = new Set<string>();
  /** Live runs as the last refresh read them: each gets one more message once it is no longer live. */
  private live = new Set<string>();
  /** Runs whose read failed: read again at the next refresh. */
  private readonly failed = new Set<string>();
  private readonly stopListening: (() => void)[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private flushing = false;
  private refreshing = false;
  /** Whether a read failed since the last flush whose reads all worked: an outage is logged once. */
  private failing = false;
  /** Reads failed so far. */
  private failures = 0;
  private closed = false;

  constructor(
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly settings: LiveEventsSettings,
  ) {}

  /** Subscribes to the queue's events and the dashboard's changes, starts the timers, sends the live runs. */
  open(): void {
    const { queue, changes, refreshMs, pingMs } = this.settings;
    const onRun = (event: { runId: string }) => this.mark(event.runId);
    queue.on('job:dialing', onRun);
    queue.on('job:ended', onRun);
    queue.on('run:completed', onRun);
    this.stopListening.push(
      () => queue.off('job:dialing', onRun),
      () => queue.off('job:ended', onRun),
      () => queue.off('run:completed', onRun),
      changes.listen((runId) => this.mark(runId)),
    );
    this.refreshTimer = unref(setInterval(() => void this.refresh(), refreshMs));
    this.pingTimer = unref(
      setInterval(() => {
        // A client that has not read the last chunk yet has data under way: no ping needed.
        if ((this.controller.desiredSize ?? 0) > 0) this.send(': ping\n\n');
      }, pingMs),
    );
    void this.refresh();
  }

  /** Ends the stream: removes its listeners and timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stopListening.splice(0)) stop();
    clearTimeout(this.flushTimer);
    clearInterval(this.refreshTimer);
    clearInterval(this.pingTimer);
    try {
      this.controller.close();
    } catch {
      // Already closed or canceled by the client: nothing is left to end.
    }
  }

  private mark(runId: string): void {
    if (this.closed) return;
    this.dirty.add(runId);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.flushing || this.flushTimer !== undefined || this.dirty.size === 0) return;
    const delay = Math.max(0, this.lastFlushAt + COALESCE_MS - Date.now());
    this.flushTimer = unref(
      setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, delay),
    );
  }

  /** Reads the live runs; marks them, those that were live at the last refresh, and failed reads. */
  private async refresh(): Promise<void> {
    if (this.closed || this.refreshing) return;
    this.refreshing = true;
    try {
      const runs = await this.settings.queue.listRuns({ status: ['running', 'paused'], limit: LIVE_RUNS });
      const live = new Set(runs.map((run) => run.runId));
      for (const runId of [...this.live, ...this.failed, ...live]) this.dirty.add(runId);
      this.live = live;
      this.failed.clear();
      this.schedule();
    } catch (err) {
      this.readFailed(err, {});
    } finally {
      this.refreshing = false;
    }
  }

  /** Reads the marked runs and their businesses, and sends them as one chunk. */
  private async flush(): Promise<void> {
    if (this.closed) return;
    // A client that has not read the last chunk yet gets the runs' newer state later, in one piece.
    if ((this.controller.desiredSize ?? 0) <= 0) {
      this.lastFlushAt = Date.now();
      return this.schedule();
    }
    this.flushing = true;
    const runIds = [...this.dirty];
    this.dirty.clear();
    const failuresBefore = this.failures;
    try {
      const runs = (await Promise.all(runIds.map((runId) => this.readRun(runId)))).filter(
        (run): run is RunSummary => run !== undefined,
      );
      const businessIds = [...new Set(runs.map((run) => run.businessId))];
      const loads = await Promise.all(businessIds.map((businessId) => this.readLoad(businessId)));
      const text = [
        ...runs.map((run) => message('run', run)),
        ...loads
          .filter((load): load is BusinessLoad => load !== undefined)
          .map((load) => message('business', load)),
      ].join('');
      // Counted from the send, however long the reads took: the client sees the messages spaced.
      this.lastFlushAt = Date.now();
      if (text !== '') this.send(text);
      // Every read of this flush worked: the next failure is news again.
      if (this.failures === failuresBefore) this.failing = false;
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  private async readRun(runId: string): Promise<RunSummary | undefined> {
    try {
      return await this.settings.queue.getRun(runId);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      this.failed.add(runId);
      this.readFailed(err, { run_id: runId });
      return undefined;
    }
  }

  private async readLoad(businessId: string): Promise<BusinessLoad | undefined> {
    try {
      return businessLoad(await this.settings.queue.getBusiness(businessId));
    } catch (err) {
      this.readFailed(err, { business_id: businessId });
      return undefined;
    }
  }

  private readFailed(err: unknown, fields: Record<string, unknown>): void {
    this.failures += 1;
    if (this.failing) return;
    this.failing = true;
    this.settings.logger.warn({ err, ...fields }, 'OUTBOUND_DASHBOARD_READ_FAILED');
  }

  private send(text: string): void {
    if (this.closed) return;
    try {
      this.controller.enqueue(this.encoder.encode(text));
    } catch {
      // The client canceled the stream between the check and the write: cancel() closes it.
    }
  }
}

/** One Server-Sent-Events message (JSON has no raw line breaks, so `data` is one line). */
function message(event: 'run' | 'business', data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Lets the host exit while a stream is open (a Node timer; other runtimes' timers lack `unref`). */
function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

import { dashboardResponse } from './http-responses.js';
import {
  COALESCE_MS,
  type LiveMessage,
  LiveRunReader,
  type LiveRunReaderSettings,
  unref,
} from './live-run-reader.js';

/** What the event streams read from and how often. */
export interface LiveEventsSettings extends LiveRunReaderSettings {
  /** How often a `: ping` comment is sent. */
  pingMs: number;
}

/**
 * `GET api/events` of one dashboard handler: its open Server-Sent-Events streams and the one
 * {@link LiveRunReader} they share, made with the first stream and stopped (its listeners and
 * timers removed) with the last, so that the reads do not grow with the number of open tabs.
 */
export class LiveEvents {
  private readonly streams = new Set<LiveStream>();
  private reader: LiveRunReader | undefined;

  /** @param settings - the queue, the logger and the timings */
  constructor(private readonly settings: LiveEventsSettings) {}

  /**
   * A stream of `run` and `business` messages, ended (its timers removed, and the reader stopped
   * if it was the last) when the client goes away or the request is aborted.
   * @param request - the request (its `signal` ends the stream too)
   * @returns the streaming response
   */
  response(request: Request): Response {
    let stream: LiveStream | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const opened = new LiveStream(controller, this.settings.pingMs, () => this.detach(opened));
        stream = opened;
        if (request.signal.aborted) return opened.close();
        request.signal.addEventListener('abort', () => opened.close(), { once: true });
        this.attach(opened);
      },
      pull: () => stream?.pulled(),
      cancel: () => stream?.close(),
    });
    return dashboardResponse(body, 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      // Proxies (nginx) must pass each message on at once.
      'x-accel-buffering': 'no',
    });
  }

  /** Opens a stream on the reader's latest state, starting the reader for the first stream. */
  private attach(stream: LiveStream): void {
    this.streams.add(stream);
    stream.open();
    if (this.reader === undefined) {
      const reader = new LiveRunReader(this.settings, (messages) => {
        for (const open of this.streams) open.deliver(messages);
      });
      this.reader = reader;
      reader.start();
    } else {
      stream.deliver(this.reader.snapshot());
    }
  }

  private detach(stream: LiveStream): void {
    if (!this.streams.delete(stream) || this.streams.size > 0) return;
    this.reader?.stop();
    this.reader = undefined;
  }
}

/**
 * One open event stream: it sends the reader's messages at most once per {@link COALESCE_MS}, and
 * only when the client has read what was sent before; meanwhile it keeps the newest message of
 * each run and business, so a slow client gets the newest state when it catches up.
 */
class LiveStream {
  private readonly encoder = new TextEncoder();
  /** Messages not sent yet: the newest per run, then the newest per business. */
  private readonly runs = new Map<string, string>();
  private readonly businesses = new Map<string, string>();
  private sendTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly pingMs: number,
    private readonly onClose: () => void,
  ) {}

  /** Starts the ping timer. */
  open(): void {
    this.pingTimer = unref(
      setInterval(() => {
        // A client that has not read the last chunk yet has data under way: no ping needed.
        if ((this.controller.desiredSize ?? 0) > 0) this.send(': ping\n\n');
      }, this.pingMs),
    );
  }

  /** Takes a flush's messages (or the reader's snapshot) and sends them when it may. */
  deliver(messages: readonly LiveMessage[]): void {
    if (this.closed) return;
    for (const message of messages) {
      (message.kind === 'run' ? this.runs : this.businesses).set(message.id, message.text);
    }
    this.trySend();
  }

  /** The client read what was sent: what waited goes now (or after the spacing). */
  pulled(): void {
    this.trySend();
  }

  /** Ends the stream: removes its timers and tells its owner. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.sendTimer);
    clearInterval(this.pingTimer);
    this.runs.clear();
    this.businesses.clear();
    try {
      this.controller.close();
    } catch {
      // Already closed or canceled by the client: nothing is left to end.
    }
    this.onClose();
  }

  private trySend(): void {
    if (this.closed || this.sendTimer !== undefined || this.runs.size + this.businesses.size === 0) return;
    // A client that has not read the last chunk yet: `pulled` comes when it has.
    if ((this.controller.desiredSize ?? 0) <= 0) return;
    const wait = this.lastSentAt + COALESCE_MS - Date.now();
    if (wait > 0) {
      this.sendTimer = unref(
        setTimeout(() => {
          this.sendTimer = undefined;
          this.trySend();
        }, wait),
      );
      return;
    }
    const text = [...this.runs.values(), ...this.businesses.values()].join('');
    this.runs.clear();
    this.businesses.clear();
    this.lastSentAt = Date.now();
    this.send(text);
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

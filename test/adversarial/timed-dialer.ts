import type { DialContext, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import { RecordingDialer } from '../support/recording-dialer.js';

/** How long one call lasts: a length in ms, or `'held'` to leave it live until {@link TimedDialer.endHeld}. */
export type CallLength = number | 'held';

/**
 * A {@link RecordingDialer} whose calls each last their own length (chosen per request, e.g. from
 * a seeded random source), and that watches the end reports it sends: an in-process dialer has
 * no provider to send an end again, so a report that fails (rather than waiting for the backend
 * to come back) is an end lost. Held calls stay live until the test ends them.
 */
export class TimedDialer extends RecordingDialer {
  /** End reports that rejected: each is an end the queue did not keep. */
  readonly lostReports: { callId: string; error: unknown }[] = [];
  /** End reports sent and not settled yet. */
  private readonly pending = new Set<Promise<void>>();
  private readonly held = new Set<string>();

  /**
   * @param lengthOf - the length of the call placed for `req`
   */
  constructor(private readonly lengthOf: (req: DialRequest) => CallLength) {
    super({ durationMs: 'manual' });
  }

  override async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    const result = await super.dial(req, ctx);
    const length = this.lengthOf(req);
    if (length === 'held') this.held.add(result.callId);
    else setTimeout(() => this.finish(result.callId), length);
    return result;
  }

  /**
   * Ends every held call now.
   * @returns how many calls were ended
   */
  endHeld(): number {
    const ids = [...this.held];
    this.held.clear();
    for (const callId of ids) this.finish(callId);
    return ids.length;
  }

  /** Resolves once every end report sent so far has settled (written, or lost). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private finish(callId: string): void {
    const report = this.end(callId).catch((error: unknown) => {
      this.lostReports.push({ callId, error });
    });
    this.pending.add(report);
    void report.finally(() => this.pending.delete(report));
  }
}

/**
 * A seeded source of numbers in [0, 1) (mulberry32), so that a run's call lengths can be
 * replayed from the seed the test prints.
 * @param seed - any 32-bit integer
 * @returns the next number at each call
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

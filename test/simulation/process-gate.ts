import type { Random } from './random.js';
import type { ClockView } from './virtual-clock.js';

/**
 * Counts the simulated adapters' calls under way, per process, so that the virtual clock knows
 * when the engine's I/O has settled. Calls of a crashed process never settle and never count.
 */
export class InFlight {
  private readonly counts = new Map<ClockView, number>();

  /** Whether some live process has a call under way. */
  busy(): boolean {
    for (const [view, n] of this.counts) if (n > 0 && !view.isFrozen) return true;
    return false;
  }

  /** @internal */
  add(view: ClockView, delta: number): void {
    this.counts.set(view, (this.counts.get(view) ?? 0) + delta);
  }
}

/** Options of {@link ProcessGate}. */
export interface ProcessGateOptions {
  /** The process's view of the clock: frozen when the process crashed. */
  clock: ClockView;
  /** Where calls under way are counted. */
  inFlight: InFlight;
  /** Draws latencies and ambiguous outcomes. */
  rng: Random;
  /** Whether the backend is down at virtual time `now` (an outage window). */
  down: (now: number) => boolean;
  /** Most virtual ms a call takes (0: answers at once). */
  maxLatencyMs: number;
  /** Whether, during an outage, a write may be applied while its answer is lost. */
  ambiguous: boolean;
  /** The error a call throws in an outage (a dropped connection). */
  outage: () => Error;
}

/** What hangs forever: the call of a process that crashed (its continuation never runs). */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/**
 * Everything between one simulated process and one backend: the latency of a call, the outages
 * that make it throw as a dropped connection would, and the crash that makes every call of the
 * process hang (its continuation never runs, as if the process were killed).
 */
export class ProcessGate {
  /**
   * @param options - the process's clock, the backend's outages and latency
   */
  constructor(private readonly options: ProcessGateOptions) {}

  /**
   * Runs one call through the gate.
   * @param call - the call on the real backend
   * @param write - whether the call writes (only a write can be applied while its answer is lost)
   * @returns the backend's answer
   * @throws the outage error while the backend is down
   */
  async run<T>(call: () => Promise<T>, write = false): Promise<T> {
    const { clock, inFlight, rng, down, maxLatencyMs, ambiguous, outage } = this.options;
    if (clock.isFrozen) return never();
    const latency = maxLatencyMs > 0 ? rng.int(0, maxLatencyMs) : 0;
    if (latency > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, latency));
    if (clock.isFrozen) return never();
    const lostAnswer = down(clock.now());
    if (lostAnswer && !(write && ambiguous && rng.chance(0.3))) throw outage();
    inFlight.add(clock, 1);
    let result: T;
    try {
      result = await call();
    } finally {
      inFlight.add(clock, -1);
    }
    if (clock.isFrozen) return never();
    if (lostAnswer) throw outage();
    return result;
  }
}

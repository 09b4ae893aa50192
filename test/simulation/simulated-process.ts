import type { Kysely } from 'kysely';
import type { Logger } from '../../src/logger.js';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { type FaultFlags, type FaultPlan, within } from './faults.js';
import { LimiterView, type SharedLimiterState } from './faulty-limiter.js';
import { connectionDropped, faultyStore } from './faulty-store.js';
import { type InFlight, ProcessGate } from './process-gate.js';
import { Random } from './random.js';
import type { SimulatedProvider } from './simulated-provider.js';
import type { Trace } from './trace.js';
import type { ClockView, VirtualClock } from './virtual-clock.js';
import type { Workload } from './workload.js';

/** What every simulated process shares: the clock, the database, the limiter's state, the provider. */
export interface SharedWorld {
  clock: VirtualClock;
  /** The simulation's start (epoch ms): outage windows count from it. */
  t0: number;
  // biome-ignore lint/suspicious/noExplicitAny: the store's untyped tables
  db: Kysely<any>;
  limiter: SharedLimiterState;
  provider: SimulatedProvider;
  inFlight: InFlight;
  flags: FaultFlags;
  faults: FaultPlan;
  workload: Workload;
  /** The schedule's log (claims under a contact cap are written to it). */
  trace: Trace;
}

/** No virtual ms a call to a backend takes beyond this, with the latency fault. */
const MAX_LATENCY_MS = 40;

/**
 * One engine (an `OutboundQueue`, as one host process would run it) over the shared world, with
 * its own view of the clock, its own store (on the shared database) and its own gates to the
 * backends, so that it can crash alone: its timers stop and every call it has under way hangs.
 */
export class SimulatedProcess {
  readonly queue: OutboundQueue;
  readonly clock: ClockView;
  private readonly limiterView: LimiterView;
  private crash!: (err: Error) => void;
  /** Rejects when the process crashes: a caller racing it gives up on the process. */
  readonly crashed: Promise<never>;

  /**
   * @param index - the process's number (0 crashes first)
   * @param world - what the processes share
   * @param rng - the process's stream (latencies, ambiguous writes)
   * @param logger - the engine's logger (silent unless the replay is verbose)
   */
  constructor(
    readonly index: number,
    world: SharedWorld,
    rng: Random,
    logger?: Logger,
  ) {
    const { clock, t0, flags, faults, inFlight, workload } = world;
    this.clock = clock.view();
    this.crashed = new Promise<never>((_, reject) => {
      this.crash = reject;
    });
    this.crashed.catch(() => {});
    const gate = (down: (t: number) => boolean, ambiguous: boolean, outage: () => Error) =>
      new ProcessGate({
        clock: this.clock,
        inFlight,
        rng: rng.fork(),
        down: (now) => down(now - t0),
        maxLatencyMs: flags.latency ? MAX_LATENCY_MS : 0,
        ambiguous,
        outage,
      });
    const store = faultyStore(
      tracedClaims(new KyselyStore({ db: world.db }), world.trace, index),
      gate((t) => within(faults.store, t), flags.ambiguousWrites, connectionDropped),
    );
    const redisDown = () =>
      Object.assign(new Error('Connection is closed (simulated outage)'), { code: 'ECONNRESET' });
    this.limiterView = new LimiterView(
      world.limiter,
      gate((t) => within(faults.limiter, t), false, redisDown),
      () => this.alive(),
      (jobIds, since) => {
        for (const jobId of jobIds)
          world.trace.add({ ev: 'grant', process: index, jobId, note: String(since - t0) });
      },
    );
    const dialer = world.provider.dialerFor(
      index,
      gate(() => false, false, redisDown),
      () => this.alive(),
    );
    this.queue = new OutboundQueue({
      store,
      limiter: this.limiterView,
      dialer,
      clock: this.clock,
      newId: Random.ids(`p${index}`),
      leaseMs: workload.leaseMs,
      silentCallMs: 60_000,
      retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 4_000 },
      dialsPerSecond: workload.dialsPerSecond,
      contactCap: workload.contactCap,
      logger,
    });
    // Errors are reported on this event as well as logged; the checkers judge by outcomes.
    this.queue.on('error', () => {});
  }

  /** Whether the process still runs. */
  alive(): boolean {
    return !this.clock.isFrozen;
  }

  /** Kills the process: nothing it set on the clock fires, nothing it has under way returns. */
  kill(): void {
    this.clock.freeze();
    void this.limiterView.close();
    this.crash(new Error(`process ${this.index} crashed`));
  }
}

/**
 * Logs each claim the store wrote (`claim`, with the claim's own instant as its note), before
 * any fault can lose its answer: the contact-cap checker counts them.
 */
function tracedClaims(store: KyselyStore, trace: Trace, process: number): KyselyStore {
  const claim = store.claimJob.bind(store);
  store.claimJob = async (jobId, lockToken, now, fence, cap) => {
    const claimed = await claim(jobId, lockToken, now, fence, cap);
    if (claimed) trace.add({ ev: 'claim', process, jobId, lockToken, note: String(now) });
    return claimed;
  };
  return store;
}

import { Redis } from 'ioredis';
import {
  type CallStatus,
  type DialContext,
  type Dialer,
  type DialRequest,
  type DialResult,
  OutboundQueue,
  SimulatedDialer,
} from '../../src/index.js';
import { KyselyStore } from '../../src/kysely.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { type BenchDb, postgresDb, sqliteFileDb } from '../env/databases.js';
import type { HandoffTracker } from '../measure/handoff.js';
import { SqlCounter } from '../measure/sql-counter.js';
import type { Peer, PeerEnv, PreparedRun, WorkloadSpec } from './peer.js';
import { benchLeads, businessId, countdown } from './simulated-call.js';

const TERMINAL_CALL_STATUSES: ReadonlySet<CallStatus> = new Set([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
]);

/**
 * `SimulatedDialer` (terminal event only) seen from outside: it tells the tracker when the queue
 * calls `dial()` and when the call reports its end, and counts the end reports the queue has
 * finished applying.
 */
export class TrackedDialer implements Dialer {
  /** End reports the queue has applied (its `report()` returned). */
  processed = 0;
  private readonly inner: SimulatedDialer;
  private onProcessed: () => void = () => {};

  /**
   * @param callMs - length of each simulated call
   * @param tracker - told of every call start and end
   */
  constructor(
    callMs: number,
    private readonly tracker: HandoffTracker,
  ) {
    this.inner = new SimulatedDialer({ durationMs: callMs, terminalOnly: true });
  }

  /**
   * Resolves once `n` end reports have been applied by the queue.
   * @param n - the number of calls in the workload
   */
  whenProcessed(n: number): Promise<void> {
    const { done, poke } = countdown(n, () => this.processed);
    this.onProcessed = poke;
    return done;
  }

  async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    this.tracker.callStarted(req.businessId);
    const report: DialContext['report'] = async (event) => {
      const terminal = TERMINAL_CALL_STATUSES.has(event.status);
      if (terminal) this.tracker.callEnded(req.businessId);
      try {
        await ctx.report(event);
      } finally {
        if (terminal) {
          this.processed += 1;
          this.onProcessed();
        }
      }
    };
    return this.inner.dial(req, { report });
  }
}

/**
 * This library as a host would run it: one process, `OutboundQueue` over `KyselyStore` (SQLite
 * file or PostgreSQL) and `RedisSlotLimiter` on one ioredis connection, one run per business.
 */
export class OutboundQueuePeer implements Peer {
  readonly system = 'outbound-queue';
  readonly backend: string;

  /**
   * @param database - the store's database
   */
  constructor(private readonly database: 'sqlite' | 'postgres') {
    this.backend = database === 'sqlite' ? 'Redis + SQLite' : 'Redis + PostgreSQL';
  }

  unsupported(): string | undefined {
    return undefined;
  }

  async prepare(spec: WorkloadSpec, env: PeerEnv, tracker: HandoffTracker): Promise<PreparedRun> {
    const sql = new SqlCounter();
    const bench: BenchDb =
      this.database === 'sqlite' ? sqliteFileDb(sql) : postgresDb(await env.newPostgresDatabase(), sql);
    const redis = new Redis(env.redisUrl);
    const limiter = new RedisSlotLimiter({ redis, prefix: 'bench' });
    const dialer = new TrackedDialer(spec.callMs, tracker);
    const queue = new OutboundQueue({ store: new KyselyStore({ db: bench.db }), limiter, dialer });
    let completedRuns = 0;
    const runsDone = countdown(spec.businesses, () => completedRuns);
    queue.on('run:completed', () => {
      completedRuns += 1;
      runsDone.poke();
    });
    queue.on('error', (err) => console.error(`outbound-queue error: ${err.message}`));
    await queue.migrate();
    await queue.start();
    await limiter.whenSubscribed();
    const total = spec.businesses * spec.leadsPerBusiness;
    return {
      sql,
      notes:
        this.database === 'postgres'
          ? ['pg pool of 10']
          : ['SQLite file, WAL, cacheStatements, checkpoints in a worker'],
      async run() {
        const processed = dialer.whenProcessed(total);
        if (spec.groupConcurrency !== undefined) {
          await queue.setGroupLimits('bench-group', { concurrency: spec.groupConcurrency });
          for (let b = 0; b < spec.businesses; b++)
            await queue.setBusinessLimits(businessId(b), {
              concurrency: spec.concurrency,
              group: 'bench-group',
            });
        }
        for (let b = 0; b < spec.businesses; b++) {
          await queue.startRun({
            businessId: businessId(b),
            concurrency: spec.concurrency,
            leads: benchLeads(b * spec.leadsPerBusiness, spec.leadsPerBusiness),
          });
        }
        await processed;
      },
      settle: () => runsDone.done,
      async close() {
        await queue.close();
        redis.disconnect();
        await bench.dispose();
      },
    };
  }
}

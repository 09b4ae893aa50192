/**
 * Measures the src/ changes recommended in docs/performance.md before they are made, by running
 * this library (Redis + SQLite file, as documented) next to variants that emulate each change from
 * the outside, in one process, alternating the order:
 *
 *   npx tsx --import ./scripts/lua-loader.mjs bench/experiments/store-variants.ts \
 *     [--shape businesses,leads,concurrency,callMs] [--reps 2] [--only name,name]
 *
 * Variants: `as-is`, `precompiled` (R1), `prepare-cache` (R2), `r1+r2`, `no-predial-renew` (R5),
 * `fifo-store` (R4, try it with `--shape 5000,1,1,20`), `all` (R1 + R2 + R5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { Kysely, SqliteDialect } from 'kysely';
import { type JobStore, OutboundQueue, type SlotLimiter } from '../../src/index.js';
import { KyselyStore } from '../../src/kysely.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { HandoffTracker } from '../measure/handoff.js';
import { TrackedDialer } from '../peers/outbound-queue-peer.js';
import { benchLeads } from '../peers/simulated-call.js';
import { PrecompiledStore } from './precompiled-store.js';

interface Variant {
  name: string;
  precompiled?: boolean;
  prepareCache?: boolean;
  noPredialRenew?: boolean;
  fifoStore?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'as-is' },
  { name: 'precompiled', precompiled: true },
  { name: 'prepare-cache', prepareCache: true },
  { name: 'r1+r2', precompiled: true, prepareCache: true },
  { name: 'no-predial-renew', noPredialRenew: true },
  { name: 'fifo-store', fifoStore: true },
  { name: 'all', precompiled: true, prepareCache: true, noPredialRenew: true },
];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** R2: better-sqlite3 statements prepared once per SQL text (Kysely prepares on every execute). */
function cachePreparedStatements(database: Database.Database): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, Database.Statement>();
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
}

/** Forwards every call of `target` through one FIFO queue: no two run at once (R4). */
function fifo<T extends object>(target: T): T {
  let tail: Promise<unknown> = Promise.resolve();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = tail.then(() => value.apply(obj, args));
        tail = result.catch(() => {});
        return result;
      };
    },
  });
}

/** R5: the pre-dial slot confirmation (`renew` of the one job just claimed) costs no round trip. */
function withoutPredialRenew(limiter: RedisSlotLimiter): SlotLimiter {
  return new Proxy(limiter, {
    get(obj, prop, receiver) {
      if (prop === 'renew') {
        return (key: string, jobIds: readonly string[], leaseMs: number) =>
          jobIds.length === 1 ? Promise.resolve([]) : obj.renew(key, jobIds, leaseMs);
      }
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}

async function runOnce(variant: Variant, redisUrl: string, shape: number[]) {
  const [businesses = 100, leads = 100, concurrency = 5, callMs = 0] = shape;
  const dir = mkdtempSync(join(tmpdir(), 'oq-experiment-'));
  const database = new Database(join(dir, 'bench.db'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  if (variant.prepareCache) cachePreparedStatements(database);
  const db = new Kysely({ dialect: new SqliteDialect({ database }) });
  const redis = new Redis(redisUrl);
  await redis.flushall();
  const real = new RedisSlotLimiter({ redis, prefix: 'experiment' });
  const limiter = variant.noPredialRenew ? withoutPredialRenew(real) : real;
  const kyselyStore = variant.precompiled ? new PrecompiledStore(db) : new KyselyStore({ db });
  const store: JobStore = variant.fifoStore ? fifo(kyselyStore) : kyselyStore;
  const tracker = new HandoffTracker();
  const dialer = new TrackedDialer(callMs, tracker);
  const queue = new OutboundQueue({ store, limiter, dialer });
  await queue.migrate();
  await queue.start();
  await real.whenSubscribed();
  const total = businesses * leads;
  const done = dialer.whenProcessed(total);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let b = 0; b < businesses; b++) {
    await queue.startRun({ businessId: `b${b}`, concurrency, leads: benchLeads(b * leads, leads) });
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await queue.close();
  redis.disconnect();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
  const p50 = tracker.latency.percentile(50);
  const p99 = tracker.latency.percentile(99);
  return (
    `${Math.round(total / seconds)} calls/s, hand-off p50 ${p50?.toFixed(2) ?? 'n/a'} p99 ` +
    `${p99?.toFixed(2) ?? 'n/a'} ms, CPU ${Math.round((used.user + used.system) / total)} µs/call`
  );
}

async function main(): Promise<void> {
  const shape = (option('--shape') ?? '100,100,5,0').split(',').map(Number);
  const reps = Number(option('--reps') ?? 2);
  const only = option('--only')?.split(',');
  const variants = VARIANTS.filter((v) => !only || only.includes(v.name));
  const server = await startRedisServer();
  const results = new Map<string, string[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const variant of rep % 2 === 0 ? variants : [...variants].reverse()) {
        const line = await runOnce(variant, server.url, shape);
        results.set(variant.name, [...(results.get(variant.name) ?? []), line]);
        console.error(`  ${variant.name} pass ${rep + 1}: ${line}`);
      }
    }
  } finally {
    await server.stop();
  }
  console.log(`shape ${shape.join(',')} (businesses, leads, concurrency, call ms), ${reps} passes each:`);
  for (const [name, lines] of results) console.log(`${name.padEnd(18)} ${lines.join(' | ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

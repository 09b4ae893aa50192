import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { Redis as RealRedis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type { SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';

// Model-based check: random operations over a few keys and jobs, each answer compared with a
// deliberately naive model of the contract, and the model's invariants checked after each step.

const KEYS = ['a', 'b', 'c'] as const;
const JOBS = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5'] as const;

type Op =
  | { op: 'acquire'; key: string; job: string; limit: number; leaseMs: number }
  | { op: 'release'; key: string; job: string }
  | { op: 'remove'; key: string; jobs: string[] }
  | { op: 'renew'; key: string; jobs: string[]; leaseMs: number }
  | { op: 'reclaim'; key: string; leaseMs: number }
  | { op: 'tick'; ms: number };

const key = fc.constantFrom(...KEYS);
const job = fc.constantFrom(...JOBS);
const jobs = fc.uniqueArray(job, { maxLength: 3 });
// Mostly a steady limit per run, sometimes another one: a raised limit frees slots while jobs wait.
const limit = fc.oneof(
  { weight: 4, arbitrary: fc.constant(2) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
);

/** Operations; `timed` adds clock ticks and short leases (only where the test controls the clock). */
function operations(timed: boolean): fc.Arbitrary<Op[]> {
  const leaseMs = timed ? fc.integer({ min: 1, max: 100 }) : fc.constant(600_000);
  const ops: Array<fc.Arbitrary<Op>> = [
    fc.record({ op: fc.constant('acquire' as const), key, job, limit, leaseMs }),
    fc.record({ op: fc.constant('acquire' as const), key, job, limit, leaseMs }),
    fc.record({ op: fc.constant('release' as const), key, job }),
    fc.record({ op: fc.constant('remove' as const), key, jobs }),
    fc.record({ op: fc.constant('renew' as const), key, jobs, leaseMs }),
    fc.record({ op: fc.constant('reclaim' as const), key, leaseMs }),
  ];
  if (timed) ops.push(fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 120 }) }));
  return fc.array(fc.oneof(...ops), { maxLength: 60, size: 'max' });
}

interface ModelKey {
  holders: Map<string, number>;
  line: string[];
  /** 0 until the key's first acquire stores one. */
  limit: number;
  leaseMs: number;
}

/** The contract written as plainly as possible (arrays, linear scans). */
class Model {
  now = 0;
  private readonly keys = new Map<string, ModelKey>();

  private get(k: string): ModelKey {
    let state = this.keys.get(k);
    if (!state) {
      state = { holders: new Map(), line: [], limit: 0, leaseMs: 600_000 };
      this.keys.set(k, state);
    }
    return state;
  }

  apply(op: Op): unknown {
    if (op.op === 'tick') {
      this.now += op.ms;
      return undefined;
    }
    const s = this.get(op.key);
    const counters = () => ({ active: s.holders.size, limit: s.limit, queueLength: s.line.length });
    const grant = (j: string, leaseMs: number) => {
      // The limit: a slot is granted only below it (expired, unreclaimed leases count).
      expect(s.holders.size, `granting ${j} on ${op.key}`).toBeLessThan(s.limit);
      s.holders.set(j, this.now + leaseMs);
    };
    switch (op.op) {
      case 'acquire': {
        s.leaseMs = op.leaseMs;
        s.limit = op.limit;
        if (s.holders.has(op.job)) return { status: 'inflight', ...counters() };
        if (s.line.includes(op.job)) return { status: 'already_queued', ...counters() };
        if (s.holders.size < s.limit && s.line.length === 0) {
          grant(op.job, op.leaseMs);
          return { status: 'acquired', ...counters() };
        }
        s.line.push(op.job);
        return { status: 'enqueued', ...counters() };
      }
      case 'release': {
        const released = s.holders.delete(op.job);
        const promoted: string[] = [];
        // FIFO: promotions always come from the head of the line.
        while (s.holders.size < s.limit && s.line.length > 0) {
          const next = s.line.shift()!;
          grant(next, s.leaseMs);
          promoted.push(next);
        }
        // No waiting job is lost: after a release the line waits only for want of a slot.
        if (s.line.length > 0) expect(s.holders.size).toBeGreaterThanOrEqual(s.limit);
        return { released, promoted, ...counters() };
      }
      case 'remove': {
        const before = s.line.length;
        s.line = s.line.filter((j) => !op.jobs.includes(j));
        return before - s.line.length;
      }
      case 'renew': {
        for (const j of op.jobs) if (s.holders.has(j)) s.holders.set(j, this.now + op.leaseMs);
        return op.jobs.filter((j) => !s.holders.has(j));
      }
      case 'reclaim': {
        const expired = [...s.holders]
          .filter(([, at]) => at <= this.now)
          .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1))
          .map(([j]) => j);
        for (const j of expired) s.holders.set(j, this.now + op.leaseMs);
        return expired;
      }
    }
  }

  check(): void {
    for (const [k, s] of this.keys) {
      expect(new Set(s.line).size, `line of ${k} has no duplicates`).toBe(s.line.length);
      for (const j of s.line) expect(s.holders.has(j), `${j} both waits and holds`).toBe(false);
    }
  }
}

async function call(limiter: SlotLimiter, op: Op): Promise<unknown> {
  switch (op.op) {
    case 'acquire':
      return limiter.acquire(op.key, op.job, op.limit, op.leaseMs);
    case 'release':
      return limiter.release(op.key, op.job);
    case 'remove':
      return limiter.remove(op.key, op.jobs);
    case 'renew':
      return limiter.renew(op.key, op.jobs, op.leaseMs);
    case 'reclaim':
      return limiter.reclaim(op.key, op.leaseMs);
    case 'tick':
      return undefined;
  }
}

/** A result without its fencing token (the model does not rebuild, so it has none to predict). */
function withoutFence(result: unknown): unknown {
  if (typeof result !== 'object' || result === null || !('fence' in result)) return result;
  const { fence: _fence, ...rest } = result as Record<string, unknown>;
  return rest;
}

/** Runs the property with a fresh limiter per sequence. */
async function holdsTheModel(
  makeLimiter: (model: Model) => SlotLimiter,
  timed: boolean,
  numRuns: number,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(operations(timed), async (ops) => {
      const model = new Model();
      const limiter = makeLimiter(model);
      try {
        for (const [i, op] of ops.entries()) {
          const actual = withoutFence(await call(limiter, op));
          const expected = model.apply(op);
          expect(actual, `step ${i}: ${JSON.stringify(op)}`).toEqual(expected);
          model.check();
        }
      } finally {
        await limiter.close();
      }
    }),
    { numRuns },
  );
}

let prefixes = 0;
const freshPrefix = (kind: string) => `prop-${kind}-${process.pid}-${++prefixes}`;

describe('SlotLimiter property: answers match the model, limits hold, FIFO, no waiting job lost', () => {
  it('MemorySlotLimiter, with a controlled clock (leases expire)', async () => {
    await holdsTheModel((model) => new MemorySlotLimiter({ clock: { now: () => model.now } }), true, 400);
  });

  it('RedisSlotLimiter on ioredis-mock', async () => {
    const redis = new RedisMock() as unknown as Redis;
    await holdsTheModel(() => new RedisSlotLimiter({ redis, prefix: freshPrefix('mock') }), false, 60);
    redis.disconnect();
  });

  describe.skipIf(!requireServer('redis'))('on a real redis-server', () => {
    let server: RedisServerHandle;
    let redis: RealRedis;
    beforeAll(async () => {
      server = await startRedisServer();
      redis = new RealRedis(server.url);
    });
    afterAll(async () => {
      redis?.disconnect();
      await server?.stop();
    });

    it('RedisSlotLimiter on redis-server', async () => {
      await holdsTheModel(() => new RedisSlotLimiter({ redis, prefix: freshPrefix('real') }), false, 100);
    });
  });
});

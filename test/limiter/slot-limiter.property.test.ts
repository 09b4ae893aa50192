import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { Redis as RealRedis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScopeMovedError } from '../../src/errors.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type {
  SlotAsk,
  SlotHolderSource,
  SlotHolders,
  SlotLimiter,
  SlotSignal,
} from '../../src/limiter/slot-limiter.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { SlotObserver } from './slot-limiter.observer.js';
import {
  change,
  GROUP,
  HOLDER_LEASE_MS,
  jobName,
  jobsOf,
  MEMBERS,
  type Op,
  runName,
  scopeOf,
  steps,
  strayScope,
} from './slot-limiter.steps.js';

// Model-based check: random steps over a group's scope (three businesses) and two businesses'
// own scopes, each business with two runs. After each step the observer checks the guarantees
// (limits, FIFO within a run, work-conserving, levels), and the Redis limiter must answer exactly
// what the memory limiter answers (the same promotions in the same order: one sharing rule).

/**
 * The database as the holder source reads it: fixed members, no holders (every scope starts
 * empty). Its fences are above those of the steps' own rebuilds (1,000 + step), as a real read
 * raises them above every fence before it: a scope read again replaces the state.
 */
function holderSource(): SlotHolderSource {
  let fence = 1_000_000;
  return async (key) => ({
    fence: ++fence,
    holders: [],
    members: Object.entries(MEMBERS[key] ?? {}).map(([id, memberLimit]) => ({
      business: id,
      limit: memberLimit,
    })),
    runs: [],
    groupLimit: null,
  });
}

/** A limiter under test with the signals it told since the last step. */
interface Subject {
  limiter: SlotLimiter;
  signals: SlotSignal[];
  close(): Promise<void>;
}

function subject(limiter: SlotLimiter, extraClose?: () => Promise<void>): Subject {
  limiter.setHolderSource(holderSource());
  const signals: SlotSignal[] = [];
  const stop = limiter.subscribe((signal) => signals.push(signal));
  return {
    limiter,
    signals,
    async close() {
      stop();
      await limiter.close();
      await extraClose?.();
    },
  };
}

/** Runs one step; answers without fencing tokens, errors by class, with the signals it told. */
/** What an acquire step asks for: its ask and its jobs' names. */
function asked(op: Extract<Op, { op: 'acquire' }>): { ask: SlotAsk; jobs: string[] } {
  const ask: SlotAsk = {
    business: op.business,
    run: runName(op.business, op.run),
    runLimit: op.runLimit,
    priority: op.priority,
  };
  return { ask, jobs: op.jobs.map((j) => jobName(op.business, op.run, j)) };
}

async function step(
  s: Subject,
  op: Op,
  read?: SlotHolders,
): Promise<{ answer: unknown; signals: string[][] }> {
  const l = s.limiter;
  const answer = await (async (): Promise<unknown> => {
    switch (op.op) {
      case 'acquire': {
        const { ask, jobs } = asked(op);
        return l.acquireMany(scopeOf(op.business), jobs, ask, op.leaseMs);
      }
      case 'stray':
        return l.acquire(
          strayScope(op.business),
          `${op.business}-stray`,
          { business: op.business, run: 'stray', runLimit: 1 },
          op.leaseMs,
        );
      case 'release':
        return l.release(scopeOf(op.business), jobName(op.business, op.run, op.job));
      case 'pass':
        return l.pass?.(scopeOf(op.business), jobName(op.business, op.run, op.job));
      case 'passedFrom':
        return l.passedFrom?.(scopeOf(op.business), jobName(op.business, op.run, op.job));
      case 'remove': {
        const retire = op.retire === null ? undefined : runName(op.business, op.retire);
        return l.remove(scopeOf(op.business), jobsOf(op.business, op.jobs), retire);
      }
      case 'renew':
        return l.renew(scopeOf(op.business), jobsOf(op.business, op.jobs), op.leaseMs);
      case 'reclaim':
        return l.reclaim(scopeOf(op.business), op.leaseMs);
      case 'limit':
      case 'group':
      case 'runLimit':
        return l.setLimits(op.op === 'group' ? GROUP : scopeOf(op.business), change(op));
      case 'rebuild':
        // Memory answers nothing, Redis whether it replaced the state (always, without ifNewer).
        await l.rebuild(scopeOf(op.business), read as SlotHolders, op.leaseMs);
        return undefined;
      case 'tick':
        return undefined;
    }
  })().catch((err: unknown) => ({ error: err instanceof ScopeMovedError ? 'ScopeMovedError' : String(err) }));
  // The memory limiter tells its listeners after the call's own result.
  await new Promise((resolve) => setImmediate(resolve));
  const signals = s.signals.splice(0).map((signal) => signal.promoted);
  return { answer: withoutFence(answer), signals };
}

function withoutFence(result: unknown): unknown {
  if (typeof result !== 'object' || result === null || !('fence' in result)) return result;
  const { fence: _fence, ...rest } = result as Record<string, unknown>;
  return rest;
}

/** The signals an answer's promotions are told in: one, with all of them, if any. */
function told(answer: unknown): string[][] {
  const { promoted } = answer as { promoted: string[] };
  return promoted.length > 0 ? [promoted] : [];
}

/** Tells the observer what a step did (checking each answer against the contract on the way). */
function observe(
  observer: SlotObserver,
  op: Op,
  answer: unknown,
  signals: string[][],
  read?: SlotHolders,
): void {
  switch (op.op) {
    case 'acquire': {
      const scope = scopeOf(op.business);
      const { ask, jobs } = asked(op);
      expect(signals, 'an acquire signals the jobs of other asks it promoted').toEqual(told(answer));
      observer.acquire(scope, jobs, ask, op.leaseMs, answer as never);
      break;
    }
    case 'stray': {
      // The scope is read from the database, which says the business belongs elsewhere: the scope
      // is rebuilt from that read (its fences were raised), then the ask refused.
      const stray = strayScope(op.business);
      const members = Object.entries(MEMBERS[stray] ?? {}).map(([business, limit]) => ({ business, limit }));
      const known = observer.scopes.get(stray);
      observer.rebuild(
        stray,
        { fence: 0, holders: [], members, runs: [], groupLimit: null },
        known?.leaseMs ?? op.leaseMs,
      );
      expect(answer).toEqual({ error: 'ScopeMovedError' });
      break;
    }
    case 'release':
    case 'pass':
      expect(signals, 'a release signals what it promoted').toEqual(told(answer));
      observer.release(
        scopeOf(op.business),
        jobName(op.business, op.run, op.job),
        answer as never,
        op.op === 'pass',
      );
      break;
    case 'passedFrom':
      observer.passedFrom(scopeOf(op.business), jobName(op.business, op.run, op.job), answer as never);
      break;
    case 'remove':
      observer.remove(
        scopeOf(op.business),
        jobsOf(op.business, op.jobs),
        op.retire === null ? undefined : runName(op.business, op.retire),
        answer as number,
      );
      break;
    case 'renew':
      observer.renew(scopeOf(op.business), jobsOf(op.business, op.jobs), op.leaseMs, answer as string[]);
      break;
    case 'reclaim':
      observer.reclaim(scopeOf(op.business), op.leaseMs, answer as string[]);
      break;
    case 'limit':
    case 'group':
    case 'runLimit':
      expect(signals, 'a change of limits signals what it promoted').toEqual(told(answer));
      observer.setLimits(
        op.op === 'group' ? GROUP : scopeOf(op.business),
        change(op),
        (answer as { promoted: string[] }).promoted,
      );
      break;
    case 'rebuild':
      observer.rebuild(scopeOf(op.business), read as SlotHolders, op.leaseMs);
      break;
    case 'tick':
      observer.now += op.ms;
  }
}

/**
 * Runs the property: the memory limiter (on the observer's clock) against the observer, and each
 * of `others` step for step against the memory limiter.
 * @param timed - ticks and short leases (only when every limiter runs on the observer's clock)
 */
async function holds(others: () => Subject[], timed: boolean, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(steps(timed), async (ops) => {
      const observer = new SlotObserver(MEMBERS, HOLDER_LEASE_MS);
      const memory = subject(
        new MemorySlotLimiter({ clock: { now: () => observer.now }, holderLeaseMs: HOLDER_LEASE_MS }),
      );
      const subjects = others();
      try {
        for (const [i, op] of ops.entries()) {
          const where = `step ${i}: ${JSON.stringify(op)}`;
          const read =
            op.op === 'rebuild'
              ? observer.read(scopeOf(op.business), 1_000 + i, op.keep, op.duplicate)
              : undefined;
          const expected = await step(memory, op, read);
          for (const other of subjects) expect(await step(other, op, read), where).toEqual(expected);
          try {
            observe(observer, op, expected.answer, expected.signals, read);
            observer.check();
          } catch (err) {
            throw new Error(`${where}: ${(err as Error).message}`);
          }
        }
      } finally {
        await Promise.all([memory, ...subjects].map((s) => s.close()));
      }
    }),
    { numRuns },
  );
}

let prefixes = 0;
const freshPrefix = (kind: string) => `prop-${kind}-${process.pid}-${++prefixes}`;

describe('SlotLimiter property: limits, FIFO, work-conserving, and Redis answers as memory does', () => {
  it('MemorySlotLimiter against the observer, with a controlled clock (leases expire)', async () => {
    await holds(() => [], true, 300);
  });

  it('RedisSlotLimiter on ioredis-mock answers as MemorySlotLimiter', async () => {
    await holds(
      () => {
        const redis = new RedisMock() as unknown as Redis;
        const limiter = new RedisSlotLimiter({
          redis,
          prefix: freshPrefix('mock'),
          holderLeaseMs: HOLDER_LEASE_MS,
        });
        return [subject(limiter, async () => redis.disconnect())];
      },
      false,
      60,
    );
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

    it('RedisSlotLimiter on redis-server answers as MemorySlotLimiter', async () => {
      await holds(
        () => {
          const limiter = new RedisSlotLimiter({
            redis,
            prefix: freshPrefix('real'),
            holderLeaseMs: HOLDER_LEASE_MS,
          });
          return [subject(limiter)];
        },
        false,
        150,
      );
    });
  });
});

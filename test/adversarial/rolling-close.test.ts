/**
 * A rolling deploy under load, on real PostgreSQL and Redis: process A holds live calls of three
 * businesses while process B's runs of the same businesses wait in line behind them; A closes.
 * Each slot A frees afterwards promotes one of B's jobs, which A will not dial: B must dial it
 * within a second of the release (not after the slot's lease ran out). B also adopts A's runs,
 * whose undialed leads A gave up as it closed. Two OutboundQueue instances, each with its own
 * connections, as two processes would have; the guarantees are measured on both dialers' calls.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { eventually, leads } from '../support/queue-fixture.js';
import { useRealServers } from '../support/real-servers.js';
import { MemoryLogger, RecordingDialer } from '../support/recording-dialer.js';
import { requireServer } from '../support/servers.js';
import { attemptsDialedTwice, mostLiveAtOnce } from './call-checks.js';
import { seededRandom, TimedDialer } from './timed-dialer.js';

const BUSINESSES = ['roll-1', 'roll-2', 'roll-3'];
const CONCURRENCY = 3;
/** A's leads per business: three live at the close, two that A gives up and B adopts. */
const A_LEADS = 5;
/** B's leads per business: in line behind A's calls at the close. */
const B_LEADS = 6;
const LEASE_MS = 3_000;
/** How soon after A frees a slot the job it promoted must be dialed by B. */
const HAND_OVER_MS = 1_000;

const available = requireServer('redis') && requireServer('postgres');

describe.skipIf(!available)('close() during a busy run with another process live', () => {
  const servers = useRealServers();

  it('has every job promoted by the closed process dialed by the live one within a second, none twice', async () => {
    const seed = Number(process.env.OQ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`rolling close: seed ${seed} (OQ_SEED=${seed} replays the call lengths)`);
    const random = seededRandom(seed);
    const dbUrl = await servers.postgres.createDatabase('rolling_close');
    const cleanups: (() => Promise<void>)[] = [];
    const node = (dialer: RecordingDialer) => {
      const db: Kysely<unknown> = postgresDb(dbUrl, 4);
      const redis = new Redis(servers.redis.url);
      redis.on('error', () => {});
      const logger = new MemoryLogger();
      const queue = new OutboundQueue({
        store: new KyselyStore({ db }),
        limiter: new RedisSlotLimiter({ redis, prefix: 'rolling' }),
        dialer,
        logger,
        leaseMs: LEASE_MS,
      });
      const errors: Error[] = [];
      queue.on('error', (err) => errors.push(err));
      cleanups.push(async () => {
        await queue.close().catch(() => {});
        redis.disconnect();
        await db.destroy();
      });
      return { queue, logger, errors };
    };
    const closingDialer = new RecordingDialer({ durationMs: 'manual' });
    const liveDialer = new TimedDialer(() => 100 + Math.floor(random() * 200));
    try {
      const a = node(closingDialer);
      const b = node(liveDialer);
      await a.queue.migrate();
      await a.queue.start();
      await b.queue.start();

      const aRuns = [];
      for (const [i, businessId] of BUSINESSES.entries())
        aRuns.push(
          await a.queue.startRun({ businessId, concurrency: CONCURRENCY, leads: leads(A_LEADS, i * 100) }),
        );
      await eventually(() => closingDialer.liveCalls().length === BUSINESSES.length * CONCURRENCY, 10_000);

      const waiting = new Map<string, Set<string>>(BUSINESSES.map((id) => [id, new Set()]));
      b.queue.on('job:waiting', (e) => waiting.get(e.businessId)?.add(e.jobId));
      const bRuns = [];
      for (const [i, businessId] of BUSINESSES.entries())
        bRuns.push(
          await b.queue.startRun({
            businessId,
            concurrency: CONCURRENCY,
            leads: leads(B_LEADS, i * 100 + 50),
          }),
        );
      // B's jobs wait in line behind A's live calls: B holds none.
      await eventually(() => [...waiting.values()].every((jobs) => jobs.size >= CONCURRENCY), 10_000);
      expect(liveDialer.calls).toEqual([]);

      const releases: { at: number; businessId: string; jobId: string; promoted: string[] }[] = [];
      let closedAt = Number.POSITIVE_INFINITY;
      a.queue.on('slot:released', (e) => {
        const at = performance.now();
        if (at >= closedAt)
          releases.push({ at, businessId: e.businessId, jobId: e.jobId, promoted: e.promoted });
      });
      await a.queue.close();
      closedAt = performance.now();
      const aDials = closingDialer.calls.length;

      // A's calls end after its close in a shuffled order, some at once and some apart, while B
      // dials and ends calls of its own.
      const aCalls = closingDialer.liveCalls();
      const order = aCalls.map((call) => ({ call, key: random() })).sort((x, y) => x.key - y.key);
      for (const { call } of order) {
        await closingDialer.end(call.callId);
        const gapMs = random() < 0.3 ? 0 : 50 + Math.floor(random() * 200);
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      const promoted = releases.flatMap((r) => r.promoted.map((jobId) => ({ jobId, releasedAt: r.at })));
      // Each job A promoted after its close is dialed by B, within a second of the release.
      await eventually(
        () => promoted.every((p) => liveDialer.calls.some((c) => c.jobId === p.jobId)),
        10_000,
      ).catch(() => {});
      const handOvers = promoted.map(({ jobId, releasedAt }) => {
        const call = liveDialer.calls.find((c) => c.jobId === jobId);
        return { jobId, afterMs: call ? Math.round(call.startedAt - releasedAt) : undefined };
      });

      const runs = await Promise.all(
        [...aRuns, ...bRuns].map((r) => b.queue.waitForRun(r.runId, { timeoutMs: 25_000 })),
      );
      await liveDialer.settled();
      const calls = [...closingDialer.calls, ...liveDialer.calls];
      console.log(
        JSON.stringify({
          seed,
          releasesAfterClose: releases.length,
          promoted: promoted.length,
          handOverMs: handOvers.map((h) => h.afterMs),
          dialsByA: closingDialer.calls.length,
          dialsByB: liveDialer.calls.length,
          warnings: [...a.logger.lines, ...b.logger.lines]
            .filter((l) => l.level === 'warn' || l.level === 'error')
            .map((l) => l.msg),
          errors: [...a.errors, ...b.errors].map((e) => e.message),
        }),
      );

      // A placed nothing after its close; each of its ends freed a slot and promoted a B job.
      expect(closingDialer.calls).toHaveLength(aDials);
      expect(releases.map((r) => r.jobId).sort()).toEqual(aCalls.map((c) => c.jobId).sort());
      expect(promoted.length).toBeGreaterThanOrEqual(BUSINESSES.length);
      for (const h of handOvers) {
        expect(h.afterMs, `job ${h.jobId} dialed by B after A's release`).toBeDefined();
        expect(h.afterMs!, `job ${h.jobId} dialed by B after A's release`).toBeLessThanOrEqual(HAND_OVER_MS);
      }
      // Every run complete, A's adopted ones included; every job dialed once, never over the limit.
      expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'completed'));
      expect(runs.reduce((n, r) => n + r.counts.completed, 0)).toBe(BUSINESSES.length * (A_LEADS + B_LEADS));
      expect(calls).toHaveLength(BUSINESSES.length * (A_LEADS + B_LEADS));
      expect(attemptsDialedTwice(calls)).toEqual(new Map());
      expect(new Set(calls.map((c) => c.jobId)).size).toBe(calls.length);
      expect(liveDialer.lostReports).toEqual([]);
      for (const businessId of BUSINESSES)
        expect(mostLiveAtOnce(calls, businessId), `most live calls of ${businessId}`).toBeLessThanOrEqual(
          CONCURRENCY,
        );
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  }, 45_000);
});

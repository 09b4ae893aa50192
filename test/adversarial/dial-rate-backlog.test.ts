/**
 * A provider's calls-per-second cap with far more slots granted at once than it can start within
 * a lease, on real PostgreSQL and Redis: 20 businesses at concurrency 3 are 60 grants at the
 * start, at 5 dials a second about 13 s of backlog, six 2 s leases. Granted slots wait their dial
 * turn; none may expire meanwhile, be granted twice, or let a business over its limit; the dial
 * starts, measured at the dialer, never exceed the rate in any second, even when some claim
 * writes are slow and come back after their turn.
 */
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../src/queue/outbound-queue.js';
import { RedisSlotLimiter } from '../../src/redis.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { postgresDb } from '../support/postgres.js';
import { leads } from '../support/queue-fixture.js';
import { useRealServers } from '../support/real-servers.js';
import { MemoryLogger } from '../support/recording-dialer.js';
import { requireServer } from '../support/servers.js';
import { attemptsDialedTwice, mostLiveAtOnce, mostStartsInWindow } from './call-checks.js';
import { seededRandom, TimedDialer } from './timed-dialer.js';

const BUSINESSES = 20;
const CONCURRENCY = 3;
const LEADS = 4;
const DIALS_PER_SECOND = 5;
const LEASE_MS = 2_000;

const available = requireServer('redis') && requireServer('postgres');

/**
 * A database under load: about a third of the claim writes take 30 to 150 ms, as on a busy
 * server. A claim that comes back after its dial turn has passed must take a fresh turn, never
 * start in another dial's.
 */
class SlowClaimStore extends KyselyStore {
  constructor(
    db: Kysely<unknown>,
    private readonly random: () => number,
  ) {
    super({ db });
  }

  override async claimJob(...args: Parameters<KyselyStore['claimJob']>): ReturnType<KyselyStore['claimJob']> {
    if (this.random() < 1 / 3) {
      const delayMs = 30 + Math.floor(this.random() * 120);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    return super.claimJob(...args);
  }
}

describe.skipIf(!available)('a dial-rate backlog many leases long (PostgreSQL, Redis)', () => {
  const servers = useRealServers();

  it('dials every job once at the rate, within the limit, no grant expiring; close() returns promptly', async () => {
    const seed = Number(process.env.OQ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`dial-rate backlog: seed ${seed} (OQ_SEED=${seed} replays the call lengths)`);
    const random = seededRandom(seed);
    const db = postgresDb(await servers.postgres.createDatabase('dial_rate_backlog'), 6);
    const redis = new Redis(servers.redis.url);
    redis.on('error', () => {});
    const dialer = new TimedDialer(() => 1_000 + Math.floor(random() * 1_000));
    const logger = new MemoryLogger();
    const errors: Error[] = [];
    const limiter = new RedisSlotLimiter({ redis, prefix: 'backlog' });
    // Every dial-start turn reserved, and how far away it was: more turns than dials are turns
    // taken again by dials that came late to theirs.
    const turns: { at: number; waitMs: number }[] = [];
    const reserve = limiter.reserveDialStart.bind(limiter);
    limiter.reserveDialStart = async (scope, perSecond) => {
      const waitMs = await reserve(scope, perSecond);
      turns.push({ at: performance.now(), waitMs });
      return waitMs;
    };
    const queue = new OutboundQueue({
      store: new SlowClaimStore(db, seededRandom(seed + 1)),
      limiter,
      dialer,
      logger,
      leaseMs: LEASE_MS,
      dialsPerSecond: DIALS_PER_SECOND,
    });
    queue.on('error', (err) => errors.push(err));
    let closed = false;
    try {
      await queue.migrate();
      await queue.start();
      const businessIds = Array.from({ length: BUSINESSES }, (_, b) => `cps-${b}`);
      // One provider account: the queue's rate spaces the group's dials as one.
      for (const businessId of businessIds)
        await queue.setBusinessLimits(businessId, { concurrency: CONCURRENCY, group: 'account' });
      // Started together: every business's first three slots are granted within moments.
      const runs = await Promise.all(
        businessIds.map((businessId, b) =>
          queue.startRun({ businessId, concurrency: CONCURRENCY, leads: leads(LEADS, b * LEADS) }),
        ),
      );
      // 80 dials 220 ms apart: about 18 s.
      const summaries = await Promise.all(runs.map((r) => queue.waitForRun(r.runId, { timeoutMs: 35_000 })));
      await dialer.settled();

      const starts = dialer.calls.map((c) => c.startedAt).sort((a, b) => a - b);
      const peak = mostStartsInWindow(starts, 1_000);
      const initialBacklogMs = starts[BUSINESSES * CONCURRENCY - 1]! - starts[0]!;
      console.log(
        JSON.stringify({
          seed,
          dials: dialer.calls.length,
          dialPhaseMs: Math.round(starts.at(-1)! - starts[0]!),
          initialBacklogMs: Math.round(initialBacklogMs),
          mostStartsInOneSecond: peak.count,
          turnsReserved: turns.length,
          // Turns taken again right before a dial and too far away to be waited for: that dial
          // started out of turn.
          dialedOffTurn: turns.filter(
            (t) => t.waitMs > 5_000 && starts.some((s) => s >= t.at && s - t.at < 3),
          ).length,
          longestTurnWaitMs: Math.max(...turns.map((t) => t.waitMs)),
          closestStartsMs: Math.round(Math.min(...starts.slice(1).map((s, i) => s - starts[i]!))),
          warnings: logger.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg),
          errors: errors.map((e) => e.message),
        }),
      );
      // The backlog was there: the grants made at the start waited many leases for their turn.
      expect(initialBacklogMs).toBeGreaterThan(5 * LEASE_MS);
      // No grant outlived its lease while it waited its turn, nor was given back and granted again.
      expect(logger.named('OUTBOUND_SLOT_EXPIRED')).toEqual([]);
      expect(logger.named('OUTBOUND_SLOT_LOST')).toEqual([]);
      expect(summaries.map((s) => s.status)).toEqual(runs.map(() => 'completed'));
      expect(summaries.map((s) => s.counts.completed)).toEqual(runs.map(() => LEADS));
      expect(dialer.calls).toHaveLength(BUSINESSES * LEADS);
      expect(attemptsDialedTwice(dialer.calls)).toEqual(new Map());
      expect([...dialer.dialsPerJob().values()].every((n) => n === 1)).toBe(true);
      expect(dialer.lostReports).toEqual([]);
      for (const businessId of businessIds)
        expect(
          mostLiveAtOnce(dialer.calls, businessId),
          `most live calls of ${businessId}`,
        ).toBeLessThanOrEqual(CONCURRENCY);
      const crowded = dialer.calls
        .filter((c) => peak.from !== undefined && c.startedAt >= peak.from && c.startedAt < peak.from + 1_000)
        .sort((a, b) => a.startedAt - b.startedAt)
        .map((c) => {
          const retaken = turns.find(
            (t) => c.startedAt >= t.at && c.startedAt - t.at < 3 && t.waitMs > 5_000,
          );
          const why = retaken ? ` (turn retaken ${Math.round(retaken.waitMs)} ms away, not waited for)` : '';
          return `${Math.round(c.startedAt - starts[0]!)} ms ${c.businessId} ${c.jobId}${why}`;
        });
      expect(peak.count, `dial starts in one second:\n${crowded.join('\n')}`).toBeLessThanOrEqual(
        DIALS_PER_SECOND,
      );

      const closing = performance.now();
      await queue.close();
      closed = true;
      const closeMs = performance.now() - closing;
      console.log(`close() took ${Math.round(closeMs)} ms`);
      expect(closeMs).toBeLessThan(1_000);
    } finally {
      if (!closed) await queue.close().catch(() => {});
      redis.disconnect();
      await db.destroy();
    }
  }, 45_000);
});

/**
 * Acceptance test of "RedisSlotLimiter in Lua, many worker processes, and recovery from every
 * crash": real PostgreSQL, real Redis, several worker processes (worker.ts), a call provider that
 * outlives them (call-provider.ts), SIGKILLs and an empty Redis restart in the middle of the runs.
 * Every guarantee is checked from the outside: from the shared log and the final job rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads } from '../support/queue-fixture.js';
import { pollUntil, requireServer } from '../support/servers.js';
import { appendLog, groupBy, type LogEntry, readLog } from './call-log.js';
import type { CallProvider, ProviderCall } from './call-provider.js';
import {
  type Business,
  countBy,
  Harness,
  randomInt,
  readJobs,
  someOutcome,
  startRuns,
  waitForAllRuns,
} from './harness.js';
import { auditRuns } from './run-audit.js';
import type { WorkerPool } from './worker-pool.js';

/** How much longer the calls live at the Redis restart last: past the feeders' 1 s safety wait. */
const STRETCH_MS = 2_500;

describe.skipIf(!requireServer('redis') || !requireServer('postgres'))(
  'many worker processes on real Redis and PostgreSQL',
  () => {
    let h: Harness;
    beforeAll(async () => {
      h = await Harness.start();
    });
    afterAll(async () => {
      await h?.close();
    });

    it('keeps every guarantee while workers are SIGKILLed and Redis restarts empty', async () => {
      const businesses: Business[] = [
        { id: 'b1', concurrency: 2, leads: 30 },
        { id: 'b2', concurrency: 3, leads: 30 },
        { id: 'b3', concurrency: 4, leads: 30 },
        { id: 'b4', concurrency: 2, leads: 30 },
        { id: 'b5', concurrency: 3, leads: 30 },
      ];
      const total = businesses.reduce((n, b) => n + b.leads, 0);
      // Chaos at random moments of the runs, counted in calls placed so that each lands mid-run.
      const plan = {
        killBusiestAt: randomInt(15, 35),
        restartRedisAt: randomInt(45, 65),
        killCallerAt: randomInt(75, 95),
      };
      const chaos: Promise<void>[] = [];
      const killed = new Set<number>();
      let redisRestarts = 0;
      let stretched = 0;
      let pool!: WorkerPool;
      let calls!: CallProvider;
      let logFile = '';

      const replace = () => chaos.push(pool.spawn().then(() => {}));
      const recentCallers: number[] = [];
      const onCallStart = async (call: ProviderCall, started: number) => {
        recentCallers.push(call.pid);
        if (recentCallers.length > 20) recentCallers.shift();
        if (started === plan.killBusiestAt) {
          // Kill #1: the busiest dispatcher of late (the one that feeds most runs), whatever it is doing.
          const live = pool.live();
          const recent = (pid: number) => recentCallers.filter((p) => p === pid).length;
          const victim = live.sort((a, b) => recent(b.pid) - recent(a.pid))[0];
          if (victim) {
            killed.add(victim.pid);
            chaos.push(pool.kill(victim));
            replace();
          }
        }
        if (started === plan.restartRedisAt) {
          chaos.push(
            (async () => {
              // The calls live now outlast the restart and the feeders' return: a limiter rebuilt
              // without them would hand their slots out again.
              stretched = calls.stretchLiveCalls(STRETCH_MS);
              appendLog(logFile, { src: 'test', ev: 'redis:restart', t: Date.now() });
              await h.redis.restart({ empty: true });
              redisRestarts += 1;
              appendLog(logFile, { src: 'test', ev: 'redis:restarted', t: Date.now() });
            })(),
          );
        }
        if (started === plan.killCallerAt) {
          // Kill #2: the worker whose call was just placed, before it learns the call id.
          const victim = pool.live().find((w) => w.pid === call.pid);
          if (victim) {
            killed.add(victim.pid);
            await pool.kill(victim);
            replace();
          } else {
            plan.killCallerAt += 1; // placed by a worker killed a moment ago: take the next call
          }
        }
      };

      const sc = await h.scenario('crashes', { outcome: someOutcome, onCallStart });
      pool = sc.pool;
      calls = sc.calls;
      logFile = sc.logFile;
      await Promise.all([pool.spawn(), pool.spawn(), pool.spawn()]);
      const startedAt = Date.now();
      const runs = await startRuns(sc.admin, businesses);
      expect(runs.every((r) => r.status === 'running')).toBe(true);

      await waitForAllRuns(sc);
      const runsMs = Date.now() - startedAt;
      await Promise.all(chaos);
      expect(await pollUntil(() => sc.calls.idle, 30_000, 20)).toBe(true);
      await pool.stopAll();

      // Everything below is read from the log and the database only.
      const entries = readLog(logFile);
      const jobs = await readJobs(sc.db);
      const limits = new Map(businesses.map((b) => [b.id, b.concurrency]));
      const report = auditRuns(entries, jobs, limits, killed);
      const kills = entries.filter((e) => e.src === 'test' && e.ev === 'worker:killed').length;

      console.log(
        [
          `multi-process: ${jobs.length} jobs, ${report.dials} dials, ${report.calls} calls in ${runsMs} ms`,
          `  chaos plan (calls placed): ${JSON.stringify(plan)}; kills ${kills}, Redis restarts ${redisRestarts} (with ${stretched} live calls stretched by ${STRETCH_MS} ms)`,
          `  max live calls per business: ${businesses.map((b) => `${b.id} ${report.maxLive.get(b.id) ?? 0}/${b.concurrency}`).join(', ')}`,
          `  DIAL_OUTCOME_UNKNOWN: ${report.unknownWithoutCall + report.unknownCallUnrecorded} (no call placed: ${report.unknownWithoutCall}, call placed but never recorded: ${report.unknownCallUnrecorded})`,
          `  status counts: ${JSON.stringify(countBy(jobs, (j) => `${j.status}${j.error_code ? `:${j.error_code}` : ''}`))}`,
        ].join('\n'),
      );

      expect(report.violations).toEqual([]);
      // The chaos really happened, and mid-run: two SIGKILLs and one empty restart before the end.
      expect(kills).toBe(2);
      expect(redisRestarts).toBe(1);
      expect(stretched).toBeGreaterThan(0);
      expect(pool.died().map((w) => `${w.pid}: ${w.output()}`)).toEqual([]);
      // Nothing lost: every lead of every run is exactly one terminal job.
      expect(jobs).toHaveLength(total);
      for (const [i, b] of businesses.entries()) {
        const offset = businesses.slice(0, i).reduce((n, x) => n + x.leads, 0);
        const ids = jobs.filter((j) => j.business_id === b.id).map((j) => j.lead_id);
        expect(ids.sort()).toEqual(
          leads(b.leads, offset)
            .map((l) => l.leadId)
            .sort(),
        );
      }
      // Runs started by a queue that never dispatched were all adopted and completed.
      for (const run of runs) expect((await sc.admin.getRun(run.runId)).status).toBe('completed');
      // A crash orphans at most the claims its worker had in flight: never more than every slot.
      const slots = businesses.reduce((n, b) => n + b.concurrency, 0);
      expect(report.unknownWithoutCall + report.unknownCallUnrecorded).toBeLessThanOrEqual(kills * slots);
    }, 110_000);

    it('releases each slot exactly once when call events are duplicated, reordered and sent to different processes', async () => {
      const businesses: Business[] = [
        { id: 'd1', concurrency: 2, leads: 20 },
        { id: 'd2', concurrency: 3, leads: 20 },
        { id: 'd3', concurrency: 2, leads: 20 },
      ];
      const sc = await h.scenario('duplicates', { outcome: someOutcome, duplicate: true });
      await Promise.all([sc.pool.spawn(), sc.pool.spawn(), sc.pool.spawn()]);
      await startRuns(sc.admin, businesses);
      await waitForAllRuns(sc);
      expect(await pollUntil(() => sc.calls.idle, 30_000, 20)).toBe(true);
      await sc.pool.stopAll();

      const entries = readLog(sc.logFile);
      const jobs = await readJobs(sc.db);
      const limits = new Map(businesses.map((b) => [b.id, b.concurrency]));
      const report = auditRuns(entries, jobs, limits, new Set());
      expect(report.violations).toEqual([]);
      expect(report.unknownWithoutCall + report.unknownCallUnrecorded).toBe(0);

      const worker = entries.filter((e) => e.src === 'worker');
      const released = groupBy(
        worker.filter((e) => e.ev === 'slot:released'),
        (e) => e.jobId ?? '?',
      );
      const ended = groupBy(
        worker.filter((e) => e.ev === 'job:ended'),
        (e) => e.jobId ?? '?',
      );
      const terminalDeliveries = groupBy(
        entries.filter(
          (e) =>
            e.src === 'provider' &&
            e.ev === 'event:delivered' &&
            e.status !== 'ringing' &&
            e.status !== 'in-progress',
        ),
        (e) => e.jobId ?? '?',
      );
      const problems: string[] = [];
      let earlyEvents = 0;
      for (const job of jobs) {
        const rel = released.get(job.id) ?? [];
        const end = ended.get(job.id) ?? [];
        const copies = terminalDeliveries.get(job.id) ?? [];
        if (rel.length !== 1) problems.push(`${job.id}: slot released ${rel.length}x`);
        if (end.length !== 1) problems.push(`${job.id}: ended ${end.length}x`);
        if (copies.length !== 3) problems.push(`${job.id}: terminal event delivered ${copies.length}x`);
        if (copies.filter((c) => c.applied).length !== 1)
          problems.push(`${job.id}: terminal event applied ${copies.filter((c) => c.applied).length}x`);
        if (new Set(copies.map((c) => c.pid)).size !== 3)
          problems.push(
            `${job.id}: terminal copies went to ${new Set(copies.map((c) => c.pid)).size} processes`,
          );
        if (eventsBeforeDialReturned(entries, job.id)) earlyEvents += 1;
      }
      console.log(
        `duplicates: ${jobs.length} jobs, ${report.calls} calls, each end delivered 3x to 3 processes; ` +
          `max live ${businesses.map((b) => `${b.id} ${report.maxLive.get(b.id) ?? 0}/${b.concurrency}`).join(', ')}; ` +
          `slot releases ${[...released.values()].reduce((n, r) => n + r.length, 0)}; ` +
          `jobs with events applied before dial() returned: ${earlyEvents} ` +
          `(ended before it: ${entries.filter((e) => e.ev === 'call:start' && e.early === true).length})`,
      );
      expect(problems).toEqual([]);
      // Events delivered while the create request was in flight were applied, ends included.
      expect(earlyEvents).toBe(jobs.length);
      expect(sc.pool.died()).toEqual([]);
    }, 90_000);
  },
);

/**
 * Whether the log shows the job's events applied before its `dial()` returned: the `ringing` and,
 * for a call that ended at once, the end (the job ended and its slot was freed) while the create
 * request was still in flight.
 */
function eventsBeforeDialReturned(entries: readonly LogEntry[], jobId: string): boolean {
  const at = (match: (e: LogEntry) => boolean) => entries.findIndex((e) => e.jobId === jobId && match(e));
  const returned = at((e) => e.src === 'worker' && e.ev === 'dial:end');
  const ringing = at((e) => e.ev === 'event:delivered' && e.status === 'ringing' && e.applied === true);
  const early = at((e) => e.ev === 'call:start' && e.early === true) >= 0;
  const ended = at((e) => e.ev === 'job:ended');
  const released = at((e) => e.ev === 'slot:released');
  if (returned < 0 || ringing < 0 || ringing > returned) return false;
  return !early || (ended >= 0 && ended < returned && released >= 0 && released < returned);
}

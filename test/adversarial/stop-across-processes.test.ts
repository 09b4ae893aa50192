/**
 * Guarantee 5 across processes: a run stopped from one process (the host's web tier, say) gets no
 * call placed by any worker once `stop()` has resolved, even when a worker's claim is between the
 * database and `dial()` at that moment (a dial-rate wait, or a stalled process).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, requireServer } from '../support/servers.js';
import { appendLog, readLog } from './call-log.js';
import type { ProviderCall } from './call-provider.js';
import {
  type Business,
  countBy,
  Harness,
  randomInt,
  readJobs,
  someOutcome,
  startRuns,
  waitForSettled,
} from './harness.js';
import { auditRuns } from './run-audit.js';

/** How long a stalled worker stalls before each dial of the stopped run. */
const STALL_MS = 1_000;
/**
 * The lease of the stalled scenario: well beyond the stall, so that the stalled worker is live by
 * the queue's own definition however loaded the machine. With the default 1.2 s lease a 1 s stall
 * left ~200 ms for the claim, the dial's round trip and the call id's write: on a loaded machine
 * the slot lease ran out first and another worker's reconciler rightly took the stalled one for
 * dead (DIAL_OUTCOME_UNKNOWN of a job a live worker dialed), or stop() stopped waiting for the
 * claim (after 2 leases) before the stalled worker had placed it.
 */
const STALL_LEASE_MS = 6_000;

describe.skipIf(!requireServer('redis') || !requireServer('postgres'))('stop() from another process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    {
      // A dial-rate cap spaces dial starts, as a provider account's CPS would: claims wait a
      // little before their dial, in whichever process made them.
      name: 'stops_rate_capped',
      why: 'dial starts are rate-capped',
      stall: false,
    },
    {
      // A dialing process stalls (GC pause, starved CPU) between its claim and dial(), and the
      // stop comes during that stall.
      name: 'stops_stalled',
      why: 'a dialing process stalls between claim and dial()',
      stall: true,
    },
  ])(
    'places no call of a run stopped from another process once stop() has resolved ($why)',
    async ({ name, stall }) => {
      const businesses: Business[] = [
        { id: 's1', concurrency: 4, leads: 40 },
        { id: 's2', concurrency: 3, leads: 20 },
      ];
      const controlFile = join(h.dir, `${name}.control.json`);
      let stopAt = Number.POSITIVE_INFINITY;
      let s1Calls = 0;
      let reached: () => void = () => {};
      const midRun = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const onCallStart = (call: ProviderCall) => {
        if (call.businessId === 's1' && ++s1Calls === stopAt) reached();
      };
      const sc = await h.scenario(
        name,
        { outcome: someOutcome, onCallStart },
        stall ? { controlFile, leaseMs: STALL_LEASE_MS } : { dialsPerSecond: 25 },
      );
      await Promise.all([sc.pool.spawn(), sc.pool.spawn(), sc.pool.spawn()]);
      const [s1, s2] = await startRuns(sc.admin, businesses);
      stopAt = randomInt(8, 14);
      await midRun;
      if (stall) {
        // From now on each dial of s1 is preceded by a 1 s stall; stop once a worker is in one.
        writeFileSync(controlFile, JSON.stringify({ stallRunId: s1!.runId, stallMs: STALL_MS }));
        const stalling = () => readLog(sc.logFile).some((e) => e.ev === 'dial:stalling');
        expect(await pollUntil(stalling, 30_000, 5)).toBe(true);
      }
      // Stopped from the process that started the run, not from the ones that dial it.
      const summary = await sc.admin.stop(s1!.runId);
      appendLog(sc.logFile, {
        src: 'test',
        ev: 'stop:resolved',
        t: Date.now(),
        runId: s1!.runId,
        status: summary.status,
      });
      await waitForSettled(sc);
      expect(await pollUntil(() => sc.calls.idle, 30_000, 20)).toBe(true);
      await sc.pool.stopAll();

      const entries = readLog(sc.logFile);
      const stopIndex = entries.findIndex((e) => e.ev === 'stop:resolved');
      expect(entries[stopIndex]?.status).toBe('stopped');
      const after = entries.slice(stopIndex + 1);
      const lateDials = after.filter((e) => e.ev === 'dial:start' && e.runId === s1!.runId);
      const lateCalls = after.filter((e) => e.ev === 'call:start' && e.runId === s1!.runId);
      const jobs = await readJobs(sc.db);
      const s1Jobs = jobs.filter((j) => j.run_id === s1!.runId);
      console.log(
        `stop from another process (${name}): after ${stopAt} calls of s1; ` +
          `dial() after stop resolved: ${lateDials.length}, calls placed after: ${lateCalls.length}; ` +
          `s1 ${JSON.stringify(countBy(s1Jobs, (j) => j.status))}`,
      );
      expect(lateDials.map((e) => `${e.jobId} by pid ${e.pid}`)).toEqual([]);
      expect(lateCalls.map((e) => e.callId)).toEqual([]);
      expect((await sc.admin.getRun(s1!.runId)).status).toBe('stopped');
      expect((await sc.admin.getRun(s2!.runId)).status).toBe('completed');
      // The other guarantees hold for both runs, stopped or not.
      const limits = new Map(businesses.map((b) => [b.id, b.concurrency]));
      const called = jobs.filter((j) => j.status !== 'canceled');
      expect(auditRuns(entries, called, limits, new Set()).violations).toEqual([]);
    },
    90_000,
  );
});

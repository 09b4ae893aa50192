import type { WorkloadSpec } from './peers/peer.js';

/** Everything a bench mode decides. */
export interface BenchConfig {
  mode: 'quick' | 'full';
  /** Passes of each dispatch workload per system, in alternating order (A B C, C B A, ...). */
  repetitions: number;
  /** Dispatch workloads compared across systems. */
  dispatch: WorkloadSpec[];
  /** The tenant-scale workload (one pass per system). */
  tenants: WorkloadSpec;
  /** Longest the tenant-scale pass may take. */
  tenantsTimeoutMs: number;
  /** Lead counts of the startRun workload. */
  startRunSizes: number[];
  idleWindowMs: number;
  evalRequests: number;
  /** redis-benchmark runs; the median is reported. */
  evalRuns: number;
  /** Longest one pass of a dispatch workload may take. */
  passTimeoutMs: number;
}

function spec(
  title: string,
  businesses: number,
  leadsPerBusiness: number,
  concurrency: number,
  callMs: number,
): WorkloadSpec {
  const shape = `${businesses.toLocaleString('en-US')}×${leadsPerBusiness} c${concurrency}`;
  return { name: `${title}, ${shape}`, businesses, leadsPerBusiness, concurrency, callMs };
}

/**
 * The bench's parameters. Full mode runs the SPEC's shapes (100 businesses × 100 leads,
 * concurrency 5) three times each; quick mode keeps every workload but shortens the runs.
 * @param quick - whether `--quick` was given
 * @returns the configuration
 */
export function benchConfig(quick: boolean): BenchConfig {
  const leads = quick ? 10 : 100;
  return {
    mode: quick ? 'quick' : 'full',
    repetitions: quick ? 1 : 3,
    dispatch: [
      spec('throughput 0 ms call', 100, leads, 5, 0),
      spec('20 ms call', 100, leads, 5, 20),
      // At most 2 × 3 / 20 ms = 300 calls/s offered: hand-off latency of a process that is not saturated.
      spec('hand-off light load 20 ms call', 2, quick ? 150 : 500, 3, 20),
      // The same with both businesses in one account group that leaves them all their room.
      {
        ...spec('hand-off light load 20 ms call, group limit', 2, quick ? 150 : 500, 3, 20),
        groupConcurrency: 6,
      },
    ],
    // Quick mode keeps under 2 minutes with 2,000 tenants: this library's pass takes ~50 s at 10,000.
    tenants: quick
      ? spec('tenants 20 ms call', 2_000, 1, 1, 20)
      : spec('tenants 20 ms call', 10_000, 2, 1, 20),
    tenantsTimeoutMs: quick ? 60_000 : 400_000,
    startRunSizes: [10_000, 100_000],
    idleWindowMs: 5_000,
    evalRequests: 100_000,
    evalRuns: quick ? 1 : 3,
    passTimeoutMs: quick ? 60_000 : 180_000,
  };
}

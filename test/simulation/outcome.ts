import type { FaultPlan } from './faults.js';
import type { TraceEntry } from './trace.js';
import type { Workload } from './workload.js';

/** A job's row as the database holds it at the end. */
export interface JobRow {
  jobId: string;
  runId: string;
  businessId: string;
  leadId?: string;
  /** The number the job calls. */
  to: string;
  status: string;
  attempt: number;
  callId?: string;
  errorCode?: string;
}

/** A run's row as the database holds it at the end. */
export interface RunRow {
  runId: string;
  status: string;
}

/** Everything the checkers measure, all from outside the engine: the provider's log and the database. */
export interface Outcome {
  workload: Workload;
  faults: FaultPlan;
  /** The log: provider, workload and fault lines, in order. */
  trace: readonly TraceEntry[];
  jobs: readonly JobRow[];
  runs: readonly RunRow[];
  /** Runs whose `startRun` resolved. */
  started: ReadonlySet<string>;
  /** How long after the last fault (or the last progress) every job must be terminal (ms). */
  stallBoundMs: number;
  /** When the simulation stopped waiting for progress (virtual ms), and why, if it gave up. */
  gaveUp?: { at: number; lastProgress: number; unfinished: number };
  /** Jobs seen not terminal or placed when their run's stop() resolved (read from the database then). */
  unplacedAtStop: readonly { runId: string; jobId: string; status: string }[];
  /** Jobs the database showed holding calls, per business, sampled once a virtual second. */
  liveSamples: readonly { t: number; businessId: string; live: number }[];
}

/** A guarantee broken in one schedule. */
export interface Violation {
  /** The checker that found it (the guarantee's name). */
  checker: string;
  /** What was seen, with the job, run or business concerned. */
  message: string;
  /** Virtual ms at which it was seen, when it has an instant. */
  t?: number;
}

/** A checker: one guarantee, measured on an {@link Outcome}. */
export type Checker = (outcome: Outcome) => Violation[];

import type { CallingWindow, TimeRange } from '../../src/policy/calling-window.js';
import type { ContactCap } from '../../src/policy/contact-cap.js';
import { type LeadInput, RETRY_OUTCOMES, type RunRetryPolicy } from '../../src/types.js';
import type { FaultFlags } from './faults.js';
import type { LimitChangePlan } from './limit-plan.js';
import type { Random } from './random.js';
import type { Delivery } from './simulated-provider.js';

/** A business and the concurrency its runs use unless the limits stream gives them their own. */
export interface BusinessPlan {
  businessId: string;
  concurrency: number;
}

/** One run of the workload: when it is started, paused, resumed and stopped (virtual ms). */
export interface RunPlan {
  runId: string;
  businessId: string;
  concurrency: number;
  /** The run's weight among its business's runs, when the limits stream gave it one. */
  priority?: number;
  leads: LeadInput[];
  startAt: number;
  /** Pauses, each with its resume. */
  pauses: { at: number; resumeAt: number }[];
  stopAt?: number;
  /** Whether the stop hangs up live calls. */
  hangup: boolean;
  /** The run's retry rules by outcome, when it has any. */
  retry?: RunRetryPolicy;
  /** The run's calling window, when it has one (its leads are in London). */
  window?: CallingWindow;
  /** When the window lets a call start, in ms after the simulation's start: `[from, until)`. */
  openSpans?: (readonly [from: number, until: number])[];
  /** The run may call one number more than once (its leads share a few numbers under a contact cap). */
  allowDuplicateNumbers?: boolean;
}

/** What one seed asks of the engine. */
export interface Workload {
  businesses: BusinessPlan[];
  runs: RunPlan[];
  /** The engines' `dialsPerSecond`, when the dial-rate backlog fault is on. */
  dialsPerSecond?: number;
  /** How call events reach the engine. */
  delivery: Delivery;
  /** The engines' `leaseMs`. */
  leaseMs: number;
  /** The longest call, ring time included. */
  maxCallMs: number;
  /** Engines (processes) on the same store: 2 when the crash fault is on. */
  processes: number;
  /** The engines' contact cap, when the seed has one. */
  contactCap?: ContactCap;
  /** Business, group and run limits the driver sets (at the start and live), when the seed has them. */
  limitChanges?: LimitChangePlan[];
  /** The account groups of the seed (their limiter state can be lost too). */
  groups?: string[];
}

/**
 * Draws one seed's workload: 1 to 3 businesses with limits of 1 to 4, 1 to 4 runs of 1 to 10
 * leads started in the first 10 s, and (with `control`) pauses, resumes and stops at random moments.
 * @param rng - the workload stream
 * @param flags - the fault classes (control, dial rate, crash shape the workload)
 * @param faultEnd - no pause lasts beyond this (ms)
 */
export function planWorkload(rng: Random, flags: FaultFlags, faultEnd: number): Workload {
  const businesses = Array.from({ length: rng.int(1, 3) }, (_, i) => ({
    businessId: `b${i + 1}`,
    concurrency: rng.int(1, 4),
  }));
  let lead = 0;
  const runs = Array.from({ length: rng.int(1, 4) }, (_, i): RunPlan => {
    const business = rng.pick(businesses);
    const leads = Array.from({ length: rng.int(1, 10) }, () => {
      lead += 1;
      return { to: `+1415555${String(1000 + lead).padStart(4, '0')}`, leadId: `lead-${lead}` };
    });
    const startAt = rng.int(0, 10_000);
    const pauses: RunPlan['pauses'] = [];
    let stopAt: number | undefined;
    if (flags.control) {
      if (rng.chance(0.4)) {
        const at = rng.int(startAt, faultEnd - 1);
        pauses.push({ at, resumeAt: rng.int(at, faultEnd) });
      }
      if (rng.chance(0.3)) stopAt = rng.int(startAt, startAt + 30_000);
    }
    return { runId: `run-${i + 1}`, ...business, leads, startAt, pauses, stopAt, hangup: rng.chance(0.5) };
  });
  return {
    businesses,
    runs,
    dialsPerSecond: flags.dialRateBacklog ? rng.int(1, 3) : undefined,
    delivery: rng.chance(0.5) ? 'webhook' : 'report',
    leaseMs: rng.pick([1_000, 3_000, 6_000]),
    maxCallMs: rng.pick([2_000, 10_000, 30_000]),
    processes: flags.crash ? 2 : 1,
  };
}

/**
 * Draws retry rules for half the runs: some outcomes, 1 to 3 attempts, waits up to 3 s, fixed or
 * exponential, with or without jitter. From a stream of its own, so that the rest of a seed's
 * workload is what it was before runs had rules.
 * @param rng - the policy stream
 * @param runs - the runs, given their rules in place
 */
export function planRetries(rng: Random, runs: RunPlan[]): void {
  for (const run of runs) {
    if (!rng.chance(0.5)) continue;
    const retry: RunRetryPolicy = {};
    for (const outcome of RETRY_OUTCOMES) {
      if (!rng.chance(0.6)) continue;
      retry[outcome] = {
        maxAttempts: rng.int(1, 3),
        delayMs: rng.int(0, 3_000),
        backoff: rng.chance(0.5) ? 'exponential' : 'fixed',
        jitter: rng.chance(0.5) ? rng.int(0, 10) / 10 : undefined,
      };
    }
    run.retry = retry;
  }
}

/** The simulation's clock starts on a Monday at 15:00 UTC: 15:00 in London in January. */
const START_MINUTE = 15 * 60;
const MINUTE_MS = 60_000;

const hhmm = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/**
 * Draws calling windows for a third of the runs: from 15:00 or 15:01 London time, open 1 or 2
 * minutes, closed 1 minute, for up to 10 rounds, then open until midnight; an end margin of up
 * to 45 s, so that most of a one-minute span is closed too. Closed stretches stay under 2 minutes,
 * inside the no-stall bound.
 * Its leads are given London's zone. From a stream of its own (see {@link planRetries}).
 * @param rng - the window stream
 * @param runs - the runs, given their windows in place
 */
export function planWindows(rng: Random, runs: RunPlan[]): void {
  for (const run of runs) {
    if (!rng.chance(1 / 3)) continue;
    const hours: TimeRange[] = [];
    const margin = rng.int(0, 45) * 1000;
    const spans: (readonly [number, number])[] = [];
    let minute = START_MINUTE + rng.int(0, 1);
    for (let round = rng.int(1, 10); round > 0; round -= 1) {
      const open = rng.int(1, 2);
      hours.push({ start: hhmm(minute), end: hhmm(minute + open) });
      spans.push([(minute - START_MINUTE) * MINUTE_MS, (minute + open - START_MINUTE) * MINUTE_MS - margin]);
      minute += open + 1;
    }
    hours.push({ start: hhmm(minute), end: '24:00' });
    spans.push([(minute - START_MINUTE) * MINUTE_MS, (24 * 60 - START_MINUTE) * MINUTE_MS - margin]);
    run.window = { hours, endMarginMs: margin };
    run.openSpans = spans;
    run.leads = run.leads.map((lead) => ({ ...lead, timeZone: 'Europe/London' }));
  }
}

/**
 * Gives a third of the seeds a contact cap (1 to 3 calls per 5 to 40 s) and makes their leads
 * share 2 to 4 numbers, across runs and within one, so that the cap binds. From a stream of its
 * own (see {@link planRetries}).
 * @param rng - the cap stream
 * @param workload - changed in place
 */
export function planContactCaps(rng: Random, workload: Workload): void {
  if (!rng.chance(1 / 3)) return;
  workload.contactCap = { count: rng.int(1, 3), perMs: rng.int(5, 40) * 1000 };
  const numbers = Array.from({ length: rng.int(2, 4) }, (_, i) => `+1212555${String(7000 + i)}`);
  for (const run of workload.runs) {
    run.leads = run.leads.map((lead) => ({ ...lead, to: rng.pick(numbers) }));
    run.allowDuplicateNumbers = true;
  }
}

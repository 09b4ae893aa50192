import type { Checker } from '../outcome.js';
import { checkAtMostOnce } from './at-most-once.js';
import { checkConcurrency } from './concurrency.js';
import { checkContactCaps } from './contact-caps.js';
import { checkLiveCount } from './live-count.js';
import { checkNoStall } from './no-stall.js';
import { checkNothingLost } from './nothing-lost.js';
import { checkOutcome } from './outcome.js';
import { checkRetries } from './retries.js';
import { checkStop } from './stop.js';
import { checkWindows } from './windows.js';

/** Every checker, one per guarantee, run on each schedule's outcome. */
export const CHECKERS: readonly Checker[] = [
  checkConcurrency,
  checkAtMostOnce,
  checkNoStall,
  checkStop,
  checkNothingLost,
  checkOutcome,
  checkLiveCount,
  checkRetries,
  checkWindows,
  checkContactCaps,
];

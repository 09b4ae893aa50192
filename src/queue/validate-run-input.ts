import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { type CallingWindow, checkCallingWindow } from '../policy/calling-window.js';
import { checkLeadWindows } from '../policy/lead-windows.js';
import { isTimeZone } from '../policy/local-time.js';
import type { LeadInput, StartRunInput } from '../types.js';
import { MAX_POOL_SIZE } from './caller-id-pool.js';
import { checkRetryPolicy } from './retry-rules.js';

/** Most issues a ValidationError lists; the count says how many there were in all. */
const MAX_ISSUES = 1000;
/** Highest `concurrency` of a run or a business. */
export const MAX_CONCURRENCY = 1000;
/** Highest `priority` of a run. */
const MAX_PRIORITY = 100;
const MAX_ID_LENGTH = 255;

/**
 * Whether `value` is a dialable phone number written in E.164 form (`+14155550101`).
 * @param value - the number as given
 * @returns true for a valid E.164 number
 */
export function isE164(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\+[1-9]\d{6,14}$/.test(value)) return false;
  try {
    // Parsed once: parsing is most of the cost of validating a 100,000-lead run.
    const parsed = parsePhoneNumberWithError(value);
    return parsed.number === value && parsed.isValid();
  } catch {
    return false;
  }
}

/** The last instant a `Date` can hold, in epoch ms. */
const MAX_DATE_MS = 8.64e15;

/** A `Date` that holds a time, or whole epoch ms, from 1970 to the last instant a `Date` can hold. */
function isInstant(value: unknown): boolean {
  const ms = value instanceof Date ? value.getTime() : value;
  return typeof ms === 'number' && Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_DATE_MS;
}

function isId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_ID_LENGTH &&
    !value.includes('\u0000')
  );
}

/** Checks a run's `fromPool`: 1 to 1000 distinct E.164 numbers. */
function checkFromPool(pool: unknown, add: (issue: ValidationIssue) => void): void {
  if (!Array.isArray(pool) || pool.length === 0 || pool.length > MAX_POOL_SIZE) {
    add({ field: 'fromPool', message: `must be an array of 1 to ${MAX_POOL_SIZE} E.164 numbers` });
    return;
  }
  const seen = new Set<unknown>();
  pool.forEach((number: unknown, i) => {
    if (!isE164(number))
      add({
        field: `fromPool[${i}]`,
        message: `is not an E.164 phone number (got ${JSON.stringify(number)})`,
      });
    else if (seen.has(number)) add({ field: `fromPool[${i}]`, message: `repeats ${number}` });
    seen.add(number);
  });
}

/**
 * Checks a whole `startRun` input and names every bad field and row.
 * @param input - the input as the host passed it (unknown: it may come straight from JSON)
 * @param now - when the run would start (epoch ms): each lead's window must open after it
 * @throws {@link ValidationError} listing each problem; nothing may be written then
 */
export function validateRunInput(input: unknown, now: number): asserts input is StartRunInput {
  const issues: ValidationIssue[] = [];
  let count = 0;
  const add = (issue: ValidationIssue) => {
    count += 1;
    if (issues.length < MAX_ISSUES) issues.push(issue);
  };
  if (typeof input !== 'object' || input === null)
    throw new ValidationError([{ field: 'input', message: 'must be an object' }]);
  const run = input as Record<string, unknown>;
  if (!isId(run.businessId))
    add({
      field: 'businessId',
      message: `must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL`,
    });
  const c = run.concurrency;
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > MAX_CONCURRENCY) {
    add({
      field: 'concurrency',
      message: `must be an integer from 1 to ${MAX_CONCURRENCY} (got ${JSON.stringify(c)})`,
    });
  }
  const priority = run.priority;
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && (priority as number) >= 1 && (priority as number) <= MAX_PRIORITY)
  )
    add({
      field: 'priority',
      message: `must be an integer from 1 to ${MAX_PRIORITY} (got ${JSON.stringify(priority)})`,
    });
  if (run.runId !== undefined && !isId(run.runId))
    add({ field: 'runId', message: 'must be a non-empty string of at most 255 characters' });
  if (run.allowDuplicateNumbers !== undefined && typeof run.allowDuplicateNumbers !== 'boolean')
    add({ field: 'allowDuplicateNumbers', message: 'must be a boolean' });
  checkRetryPolicy(run.retry, add);
  if (run.window !== undefined) checkCallingWindow(run.window, add);
  if (run.startAt !== undefined && !isInstant(run.startAt))
    add({ field: 'startAt', message: 'must be a valid Date or a whole number of epoch ms' });
  if (run.fromPool !== undefined) checkFromPool(run.fromPool, add);
  if (run.from !== undefined && !isE164(run.from))
    add({ field: 'from', message: `is not an E.164 phone number (got ${JSON.stringify(run.from)})` });
  const leads = run.leads;
  if (!Array.isArray(leads)) {
    add({ field: 'leads', message: 'must be an array' });
  } else if (leads.length === 0) {
    add({ field: 'leads', message: 'must not be empty' });
  } else {
    const seen = new Map<string, number>();
    const allowDuplicates = run.allowDuplicateNumbers === true;
    const numbers = new Map<string, number>();
    leads.forEach((lead: unknown, row: number) => {
      if (typeof lead !== 'object' || lead === null) {
        add({ row, field: 'lead', message: 'must be an object' });
        return;
      }
      const l = lead as Record<string, unknown>;
      if (!isE164(l.to)) {
        add({ row, field: 'to', message: `is not an E.164 phone number (got ${JSON.stringify(l.to)})` });
      } else if (!allowDuplicates) {
        const first = numbers.get(l.to);
        if (first === undefined) numbers.set(l.to, row);
        else
          add({
            row,
            field: 'to',
            duplicateOf: first,
            message: `duplicates row ${first} (${l.to}); set allowDuplicateNumbers to call a number twice in one run`,
          });
      }
      if (l.from !== undefined && !isE164(l.from))
        add({ row, field: 'from', message: `is not an E.164 phone number (got ${JSON.stringify(l.from)})` });
      if (l.leadId !== undefined) {
        if (!isId(l.leadId)) {
          add({ row, field: 'leadId', message: 'must be a non-empty string of at most 255 characters' });
        } else {
          const first = seen.get(l.leadId);
          if (first === undefined) seen.set(l.leadId, row);
          else
            add({
              row,
              field: 'leadId',
              duplicateOf: first,
              message: `duplicates row ${first} (${JSON.stringify(l.leadId)})`,
            });
        }
      }
      if (l.timeZone !== undefined && !isTimeZone(l.timeZone))
        add({
          row,
          field: 'timeZone',
          message: `is not an IANA time zone (got ${JSON.stringify(l.timeZone)})`,
        });
      if (l.notBefore !== undefined && !isInstant(l.notBefore))
        add({ row, field: 'notBefore', message: 'must be a valid Date or a whole number of epoch ms' });
      if (
        l.metadata !== undefined &&
        (typeof l.metadata !== 'object' || l.metadata === null || Array.isArray(l.metadata))
      ) {
        add({ row, field: 'metadata', message: 'must be a plain object' });
      }
    });
  }
  // Only a whole, valid input is worth asking whether each lead's window ever opens.
  if (count === 0 && run.window !== undefined)
    checkLeadWindows(leads as LeadInput[], run.window as CallingWindow, now, add);
  if (count > 0) throw new ValidationError(issues, count);
}

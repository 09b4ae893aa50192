import type { ValidationIssue } from '../errors.js';
import { isTimeZone, WEEKDAYS, type Weekday } from './local-time.js';

/** A span of local time within one day: `start` inclusive, `end` exclusive, `HH:MM` (end up to `24:00`). */
export interface TimeRange {
  /** First minute of the span, `HH:MM` (00:00 to 23:59). */
  start: string;
  /** The minute the span ends, `HH:MM`, after `start` (up to 24:00). */
  end: string;
}

/** Hours of every allowed day alike, or of each weekday (a day not named is closed). */
export type WeeklyHours = readonly TimeRange[] | Partial<Record<Weekday, readonly TimeRange[]>>;

/**
 * A rule a calling window must also obey for the numbers it matches: a law's hours (see
 * {@link US_CALLING_RULES}). Rules only narrow a window, never widen it.
 */
export interface CallingRule {
  /** What the rule is (shown in logs and docs): `US federal (TCPA)`, `Florida`. */
  name: string;
  /** The numbers it applies to: prefixes of E.164 digits, without `+` (`1` all +1 numbers, `1305` area code 305). */
  numberPrefixes: readonly string[];
  /** The local hours it allows. */
  hours: WeeklyHours;
  /** The weekdays it allows (default: every day its `hours` names). */
  days?: readonly Weekday[];
  /** Where the rule comes from, and when that was read. */
  source: string;
}

/**
 * When a run's leads may be called, in each lead's local time. A lead's zone is its `timeZone`,
 * else the zone its number belongs to (every zone of an area code that spans several: the call
 * must be allowed in all), else this window's `timeZone`. See docs/policy.md.
 */
export interface CallingWindow {
  /** Local hours calls may start in (default 00:00 to 24:00 every allowed day). */
  hours?: WeeklyHours;
  /** Weekdays calls may be made on (default every day). */
  days?: readonly Weekday[];
  /** Local dates (`YYYY-MM-DD`) on which no call is made: holidays. */
  blockedDates?: readonly string[];
  /** The zone of leads whose own zone is not known (IANA, `America/New_York`). */
  timeZone?: string;
  /** No call starts later than this long before its span ends (default 300000: 5 minutes). */
  endMarginMs?: number;
  /** Rules the window must also obey where they match the lead's number (`US_CALLING_RULES`). */
  rules?: readonly CallingRule[];
}

/** The margin before a span's end when a window gives none. */
export const DEFAULT_END_MARGIN_MS = 300_000;
const MAX_MARGIN_MS = 6 * 3_600_000;
const MAX_BLOCKED_DATES = 1000;
const MAX_RULES = 100;

type Add = (issue: ValidationIssue) => void;

/** Minutes since midnight of an `HH:MM` time (up to 24:00 when `end`), or undefined. */
export function minuteOf(time: unknown, end: boolean): number | undefined {
  if (typeof time !== 'string') return undefined;
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(time);
  if (!m) return undefined;
  const minute = Number(m[1]) * 60 + Number(m[2]);
  return minute < 1440 || (end && minute === 1440) ? minute : undefined;
}

function checkRanges(ranges: unknown, field: string, add: Add): void {
  if (!Array.isArray(ranges) || ranges.length > 24) {
    add({ field, message: 'must be an array of at most 24 { start, end } ranges' });
    return;
  }
  ranges.forEach((range: unknown, i) => {
    const r = (typeof range === 'object' && range !== null ? range : {}) as Record<string, unknown>;
    const start = minuteOf(r.start, false);
    const end = minuteOf(r.end, true);
    if (start === undefined || end === undefined || end <= start)
      add({
        field: `${field}[${i}]`,
        message: "must be { start: 'HH:MM', end: 'HH:MM' } with end after start",
      });
  });
}

function checkHours(hours: unknown, field: string, add: Add): void {
  if (Array.isArray(hours)) {
    checkRanges(hours, field, add);
    return;
  }
  if (typeof hours !== 'object' || hours === null) {
    add({ field, message: 'must be an array of ranges, or ranges per weekday ({ mon: [...], ... })' });
    return;
  }
  for (const [day, ranges] of Object.entries(hours)) {
    if (!WEEKDAYS.includes(day as Weekday))
      add({ field: `${field}.${day}`, message: 'is not a weekday (mon..sun)' });
    else checkRanges(ranges, `${field}.${day}`, add);
  }
}

function checkDays(days: unknown, field: string, add: Add): void {
  if (!Array.isArray(days) || days.length === 0 || days.some((d) => !WEEKDAYS.includes(d as Weekday)))
    add({ field, message: `must be a non-empty array of weekdays (${WEEKDAYS.join(', ')})` });
}

function isDate(value: unknown): boolean {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  // A month or day out of range parses as NaN (2026-13-01), or rolls over (2026-02-30).
  const ms = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

function checkRule(rule: unknown, field: string, add: Add): void {
  if (typeof rule !== 'object' || rule === null) {
    add({ field, message: 'must be a rule { name, numberPrefixes, hours, days?, source }' });
    return;
  }
  const r = rule as Record<string, unknown>;
  if (typeof r.name !== 'string' || r.name.length === 0)
    add({ field: `${field}.name`, message: 'must be a non-empty string' });
  if (typeof r.source !== 'string') add({ field: `${field}.source`, message: 'must be a string' });
  const prefixes = r.numberPrefixes;
  if (
    !Array.isArray(prefixes) ||
    prefixes.length === 0 ||
    prefixes.some((p) => typeof p !== 'string' || !/^[1-9]\d{0,14}$/.test(p))
  )
    add({
      field: `${field}.numberPrefixes`,
      message: 'must be a non-empty array of digit strings (E.164 without +)',
    });
  checkHours(r.hours, `${field}.hours`, add);
  if (r.days !== undefined) checkDays(r.days, `${field}.days`, add);
}

/**
 * Checks a run's `window`, naming each bad field.
 * @param window - the input as the host passed it
 * @param add - collects the issues
 */
export function checkCallingWindow(window: unknown, add: Add): void {
  if (typeof window !== 'object' || window === null || Array.isArray(window)) {
    add({
      field: 'window',
      message: 'must be an object { hours?, days?, blockedDates?, timeZone?, endMarginMs?, rules? }',
    });
    return;
  }
  const w = window as Record<string, unknown>;
  for (const key of Object.keys(w))
    if (!['hours', 'days', 'blockedDates', 'timeZone', 'endMarginMs', 'rules'].includes(key))
      add({ field: `window.${key}`, message: 'is not a window field' });
  if (w.hours !== undefined) checkHours(w.hours, 'window.hours', add);
  if (w.days !== undefined) checkDays(w.days, 'window.days', add);
  if (w.blockedDates !== undefined) {
    const dates = w.blockedDates;
    if (!Array.isArray(dates) || dates.length > MAX_BLOCKED_DATES || !dates.every(isDate))
      add({
        field: 'window.blockedDates',
        message: `must be an array of at most ${MAX_BLOCKED_DATES} dates 'YYYY-MM-DD'`,
      });
  }
  if (w.timeZone !== undefined && !isTimeZone(w.timeZone))
    add({
      field: 'window.timeZone',
      message: `is not an IANA time zone (got ${JSON.stringify(w.timeZone)})`,
    });
  const margin = w.endMarginMs;
  if (
    margin !== undefined &&
    (typeof margin !== 'number' || !Number.isInteger(margin) || margin < 0 || margin > MAX_MARGIN_MS)
  )
    add({ field: 'window.endMarginMs', message: `must be a whole number of ms from 0 to ${MAX_MARGIN_MS}` });
  if (w.rules !== undefined) {
    if (!Array.isArray(w.rules) || w.rules.length > MAX_RULES)
      add({ field: 'window.rules', message: `must be an array of at most ${MAX_RULES} rules` });
    else
      w.rules.forEach((rule: unknown, i) => {
        checkRule(rule, `window.rules[${i}]`, add);
      });
  }
}

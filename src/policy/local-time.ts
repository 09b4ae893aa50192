/**
 * Wall-clock time in IANA time zones, through `Intl` only: every offset is the one the runtime's
 * time zone database gives for that instant, never a hand-written one.
 */

/** A day of the week, as calling windows name them. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** Every {@link Weekday}, Monday first. */
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Farther than any zone's offset from UTC (the widest is +14:00): an instant's search bound. */
const SEARCH_MS = 15 * 3_600_000;

/** The wall clock of a zone at one instant. */
export interface WallClock {
  /** The local date, `YYYY-MM-DD`. */
  date: string;
  /** The local day of the week. */
  weekday: Weekday;
  /** The local time as if it were UTC, in epoch ms: comparable with {@link wallOfDate}. */
  wallMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * Whether the runtime knows `zone` as an IANA time zone (`America/Chicago`, `Asia/Kolkata`).
 * @param zone - the name to check
 */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The local time of `zone` at `ms`, as if it were UTC (epoch ms, whole seconds). */
function wallMsAt(zone: string, ms: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(ms))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * The wall clock of `zone` at the instant `ms`.
 * @param zone - an IANA zone (see {@link isTimeZone})
 */
export function wallClockAt(zone: string, ms: number): WallClock {
  const wallMs = wallMsAt(zone, ms);
  const d = new Date(wallMs);
  return {
    date: d.toISOString().slice(0, 10),
    // getUTCDay counts from Sunday.
    weekday: WEEKDAYS[(d.getUTCDay() + 6) % 7] as Weekday,
    wallMs,
  };
}

/**
 * A local date and minute of the day as a wall time (see {@link WallClock.wallMs}).
 * @param date - `YYYY-MM-DD`
 * @param minute - minutes since local midnight, 0 to 1440 (1440: the next midnight)
 */
export function wallOfDate(date: string, minute: number): number {
  return Date.parse(`${date}T00:00:00Z`) + minute * MINUTE_MS;
}

/** The local date `days` after `date` (`YYYY-MM-DD`). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The first instant at which the wall clock of `zone` reads `wallMs` or later. A wall time that
 * occurs twice (clocks set back) gives its first occurrence; one that does not occur (clocks set
 * forward) gives the instant the clocks jumped past it.
 * @param zone - an IANA zone
 * @param wallMs - a wall time, as {@link wallOfDate} gives it
 * @returns epoch ms
 */
export function instantOfWall(zone: string, wallMs: number): number {
  // The answer lies within a day of wallMs; the offsets on either side of it cover a transition.
  const candidates = [wallMs - SEARCH_MS, wallMs + SEARCH_MS].map(
    (probe) => wallMs - (wallMsAt(zone, probe) - Math.floor(probe / 1000) * 1000),
  );
  const exact = candidates.filter((t) => wallMsAt(zone, t) === wallMs);
  if (exact.length > 0) return Math.min(...exact);
  // Skipped by a jump forward: the smallest instant whose wall clock reads past it.
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (wallMsAt(zone, mid) >= wallMs) hi = mid;
    else lo = mid;
  }
  return hi;
}

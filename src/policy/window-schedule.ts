import {
  type CallingRule,
  type CallingWindow,
  DEFAULT_END_MARGIN_MS,
  minuteOf,
  type WeeklyHours,
} from './calling-window.js';
import { addDays, instantOfWall, WEEKDAYS, type Weekday, wallClockAt, wallOfDate } from './local-time.js';

/** Minutes of a local day, `[start, end)`. */
type MinuteRange = readonly [start: number, end: number];

/** Instants at which a call may start: `from` inclusive, `until` exclusive (epoch ms). */
export interface OpenSpan {
  from: number;
  until: number;
}

/** How far ahead a schedule looks for its next span: past a year of blocked dates. */
const HORIZON_DAYS = 400;

function rangesOf(
  hours: WeeklyHours | undefined,
  days: readonly Weekday[] | undefined,
  day: Weekday,
): MinuteRange[] {
  if (days && !days.includes(day)) return [];
  if (hours === undefined) return [[0, 1440]];
  const list = Array.isArray(hours) ? hours : ((hours as Partial<Record<Weekday, WeeklyHours>>)[day] ?? []);
  const ranges = (list as readonly { start: string; end: string }[])
    .map((r) => [minuteOf(r.start, false) ?? 0, minuteOf(r.end, true) ?? 0] as const)
    .sort((a, b) => a[0] - b[0]);
  // Overlapping or touching ranges are one.
  const merged: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

function intersect(a: readonly MinuteRange[], b: readonly MinuteRange[]): MinuteRange[] {
  const out: MinuteRange[] = [];
  for (const [s1, e1] of a)
    for (const [s2, e2] of b) {
      const start = Math.max(s1, s2);
      const end = Math.min(e1, e2);
      if (end > start) out.push([start, end]);
    }
  return out.sort((x, y) => x[0] - y[0]);
}

/**
 * The rules of `window` that apply to the number `to`.
 * @returns the rules, in the window's order
 */
export function rulesFor(window: CallingWindow, to: string): CallingRule[] {
  return (window.rules ?? []).filter((rule) => rule.numberPrefixes.some((p) => to.startsWith(`+${p}`)));
}

/**
 * When one lead may be called: its window, narrowed by the rules matching its number, in each of
 * its zones at once (a call starts only while every zone allows it). Answers from the span it
 * found last while they still hold, so a feeder asking about many leads of one zone reads the
 * zone's clock rarely.
 */
export class WindowSchedule {
  private readonly margin: number;
  private readonly blocked: ReadonlySet<string>;
  /** Allowed minutes of each weekday: the window's, intersected with each rule's. */
  private readonly byWeekday = new Map<Weekday, MinuteRange[]>();
  private last: { asked: number; span: OpenSpan | undefined } | undefined;

  /**
   * @param window - the run's window
   * @param rules - the window's rules matching the lead's number (see {@link rulesFor})
   * @param zones - the lead's zones (one, or every zone of its area code)
   */
  constructor(
    window: CallingWindow,
    rules: readonly CallingRule[],
    private readonly zones: readonly string[],
  ) {
    this.margin = window.endMarginMs ?? DEFAULT_END_MARGIN_MS;
    this.blocked = new Set(window.blockedDates ?? []);
    for (const day of WEEKDAYS) {
      let ranges = rangesOf(window.hours, window.days, day);
      for (const rule of rules) ranges = intersect(ranges, rangesOf(rule.hours, rule.days, day));
      this.byWeekday.set(day, ranges);
    }
  }

  /**
   * The span a call may start in that holds `at`, or else the next one.
   * @returns the span (`from` is `at` when it is open now), or undefined when none opens within
   *   about a year
   */
  spanAt(at: number): OpenSpan | undefined {
    const last = this.last;
    if (last && at >= last.asked && (last.span === undefined || at < last.span.until)) {
      if (last.span === undefined) return undefined;
      return { from: Math.max(at, last.span.from), until: last.span.until };
    }
    const span = this.commonSpan(at);
    this.last = { asked: at, span };
    return span;
  }

  /** The first span at or after `at` that every zone allows. */
  private commonSpan(at: number): OpenSpan | undefined {
    let t = at;
    for (let round = 0; round < 100; round += 1) {
      const spans = this.zones.map((zone) => this.zoneSpan(zone, t));
      if (spans.some((s) => s === undefined)) return undefined;
      const open = spans as OpenSpan[];
      const from = Math.max(...open.map((s) => s.from));
      if (from === t) return { from: t, until: Math.min(...open.map((s) => s.until)) };
      t = from;
    }
    return undefined;
  }

  /** The first span at or after `at` in one zone. */
  private zoneSpan(zone: string, at: number): OpenSpan | undefined {
    const today = wallClockAt(zone, at).date;
    for (let k = 0; k <= HORIZON_DAYS; k += 1) {
      const date = addDays(today, k);
      if (this.blocked.has(date)) continue;
      const weekday = WEEKDAYS[(new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7] as Weekday;
      for (const [start, end] of this.byWeekday.get(weekday) ?? []) {
        const from = instantOfWall(zone, wallOfDate(date, start));
        const until = instantOfWall(zone, wallOfDate(date, end)) - this.margin;
        if (until > at && until > from) return { from: Math.max(from, at), until };
      }
    }
    return undefined;
  }
}

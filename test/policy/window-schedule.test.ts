import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallingWindow, TimeRange } from '../../src/policy/calling-window.js';
import { minuteOf } from '../../src/policy/calling-window.js';
import { RunWindows } from '../../src/policy/lead-windows.js';
import { WEEKDAYS, type Weekday, wallClockAt } from '../../src/policy/local-time.js';
import { timeZonesOfNumber } from '../../src/policy/phone-time-zones.js';
import { US_CALLING_RULES } from '../../src/policy/us-calling-rules.js';
import { rulesFor, WindowSchedule } from '../../src/policy/window-schedule.js';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function schedule(window: CallingWindow, zones: string[], to = '+14155550100') {
  return new WindowSchedule(window, rulesFor(window, to), zones);
}

describe('a calling window', () => {
  const nineToFive: CallingWindow = { hours: [{ start: '09:00', end: '17:00' }], endMarginMs: 0 };

  it('is open inside its hours and says when it opens next outside them', () => {
    const s = schedule(nineToFive, ['America/Chicago']);
    // 2026-01-05 is a Monday; 15:00Z is 09:00 in Chicago.
    expect(s.spanAt(at('2026-01-05T16:00:00Z'))).toEqual({
      from: at('2026-01-05T16:00:00Z'),
      until: at('2026-01-05T23:00:00Z'),
    });
    expect(s.spanAt(at('2026-01-05T14:59:00Z'))?.from).toBe(at('2026-01-05T15:00:00Z'));
    // After 17:00 local: tomorrow 09:00.
    expect(s.spanAt(at('2026-01-05T23:00:00Z'))?.from).toBe(at('2026-01-06T15:00:00Z'));
  });

  it('starts no call later than its end minus the margin', () => {
    const s = schedule({ ...nineToFive, endMarginMs: 10 * 60_000 }, ['America/Chicago']);
    expect(s.spanAt(at('2026-01-05T22:49:00Z'))?.until).toBe(at('2026-01-05T22:50:00Z'));
    expect(s.spanAt(at('2026-01-05T22:50:00Z'))?.from).toBe(at('2026-01-06T15:00:00Z'));
  });

  it('skips days not allowed and blocked dates, and keeps per-weekday hours', () => {
    const s = schedule(
      {
        hours: { fri: [{ start: '10:00', end: '12:00' }], mon: [{ start: '09:00', end: '11:00' }] },
        days: ['mon', 'fri'],
        blockedDates: ['2026-01-09'],
        endMarginMs: 0,
      },
      ['America/New_York'],
    );
    // Tuesday 2026-01-06: next is Friday 01-09, blocked, so Monday 01-12 09:00 EST.
    expect(s.spanAt(at('2026-01-06T15:00:00Z'))?.from).toBe(at('2026-01-12T14:00:00Z'));
    expect(s.spanAt(at('2026-01-12T15:30:00Z'))?.until).toBe(at('2026-01-12T16:00:00Z'));
    // Friday 2026-01-16 opens at 10:00.
    expect(s.spanAt(at('2026-01-13T00:00:00Z'))?.from).toBe(at('2026-01-16T15:00:00Z'));
  });

  it('opens on the local clock across spring forward and fall back', () => {
    const s = schedule(nineToFive, ['America/New_York']);
    // Saturday 2026-03-07 09:00 EST is 14:00Z; Sunday 03-08 09:00 EDT is 13:00Z.
    expect(s.spanAt(at('2026-03-07T20:00:00Z'))?.until).toBe(at('2026-03-07T22:00:00Z'));
    expect(s.spanAt(at('2026-03-07T22:30:00Z'))?.from).toBe(at('2026-03-07T14:00:00Z') + 24 * HOUR - HOUR);
    expect(s.spanAt(at('2026-03-08T14:00:00Z'))?.until).toBe(at('2026-03-08T21:00:00Z'));
    // Saturday 2026-10-31 17:00 EDT is 21:00Z; Sunday 11-01 09:00 EST is 14:00Z.
    expect(s.spanAt(at('2026-10-31T21:00:00Z'))?.from).toBe(at('2026-11-01T14:00:00Z'));
  });

  it('in a zone without DST and in a half-hour zone', () => {
    expect(schedule(nineToFive, ['America/Phoenix']).spanAt(at('2026-07-01T00:00:00Z'))?.from).toBe(
      at('2026-07-01T16:00:00Z'),
    );
    expect(schedule(nineToFive, ['Asia/Kolkata']).spanAt(at('2026-07-01T00:00:00Z'))?.from).toBe(
      at('2026-07-01T03:30:00Z'),
    );
  });

  it('takes the most restrictive reading of an area code that spans zones', () => {
    // +1 701 (North Dakota): Denver and North_Dakota/Center (an hour later); open only while both are.
    const zones = [...(timeZonesOfNumber('+17015550100') ?? [])];
    expect(zones).toEqual(['America/Denver', 'America/North_Dakota/Center']);
    const s = schedule(nineToFive, zones);
    // 09:00 Denver (MST) is 16:00Z; 17:00 Central (CST) is 23:00Z.
    expect(s.spanAt(at('2026-01-05T12:00:00Z'))).toEqual({
      from: at('2026-01-05T16:00:00Z'),
      until: at('2026-01-05T23:00:00Z'),
    });
  });

  it('narrows by the rules matching the number: Florida 8 to 8, Texas from noon on Sunday', () => {
    const wide: CallingWindow = {
      hours: [{ start: '07:00', end: '22:00' }],
      endMarginMs: 0,
      rules: US_CALLING_RULES,
    };
    expect(rulesFor(wide, '+13055550100').map((r) => r.name)).toEqual(['US federal (TCPA)', 'Florida']);
    const miami = schedule(wide, ['America/New_York'], '+13055550100');
    expect(miami.spanAt(at('2026-01-05T11:00:00Z'))).toEqual({
      from: at('2026-01-05T13:00:00Z'),
      until: at('2026-01-06T01:00:00Z'),
    });
    const nyc = schedule(wide, ['America/New_York'], '+12125550100');
    expect(nyc.spanAt(at('2026-01-05T11:00:00Z'))?.until).toBe(at('2026-01-06T02:00:00Z'));
    // Sunday 2026-01-11 in Houston: not before noon.
    const houston = schedule(wide, ['America/Chicago'], '+17135550100');
    expect(houston.spanAt(at('2026-01-11T14:00:00Z'))?.from).toBe(at('2026-01-11T18:00:00Z'));
  });

  it('takes every zone of a prefix shorter than four digits that is not a country code (+62 1: Jakarta and Makassar)', () => {
    expect(timeZonesOfNumber('+6212345678')?.length).toBeGreaterThan(1);
    expect(timeZonesOfNumber('+18005550100')).toBeUndefined();
  });

  it('keeps apart two rules of one name that match different numbers', () => {
    const rule = (prefix: string, start: string) => ({
      name: 'Custom',
      numberPrefixes: [prefix],
      hours: [{ start, end: '20:00' }],
      source: 'test',
    });
    const window: CallingWindow = { endMarginMs: 0, rules: [rule('1212', '09:00'), rule('1646', '11:00')] };
    const windows = new RunWindows(window);
    const at9 = at('2026-01-05T14:30:00Z');
    expect(windows.scheduleOf('+12125550100', 'America/New_York').spanAt(at9)?.from).toBe(at9);
    expect(windows.scheduleOf('+16465550100', 'America/New_York').spanAt(at9)?.from).toBe(
      at('2026-01-05T16:00:00Z'),
    );
  });

  it('says when it never opens', () => {
    const s = schedule(
      { hours: [{ start: '22:00', end: '23:00' }], rules: US_CALLING_RULES },
      ['America/New_York'],
      '+12125550100',
    );
    expect(s.spanAt(at('2026-01-05T12:00:00Z'))).toBeUndefined();
  });
});

const ZONES = [
  'America/New_York',
  'America/Los_Angeles',
  'America/Phoenix',
  'Asia/Kolkata',
  'Australia/Adelaide',
  'Europe/London',
  'Pacific/Chatham',
];

const timeArb = fc
  .integer({ min: 0, max: 47 })
  .map((half) => `${String(Math.floor(half / 2)).padStart(2, '0')}:${half % 2 ? '30' : '00'}`);
const rangeArb: fc.Arbitrary<TimeRange> = fc
  .tuple(timeArb, timeArb)
  .filter(([a, b]) => a !== b)
  .map(([a, b]) => (a < b ? { start: a, end: b } : { start: b, end: a }));
const windowArb: fc.Arbitrary<CallingWindow> = fc.record({
  hours: fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
  days: fc.subarray([...WEEKDAYS], { minLength: 1 }),
  blockedDates: fc.array(
    fc
      .integer({ min: 0, max: 60 })
      .map((d) => new Date(Date.UTC(2026, 2, 1) + d * 86_400_000).toISOString().slice(0, 10)),
    { maxLength: 5 },
  ),
  endMarginMs: fc.constant(0),
});

/** Whether a call may start at `t` by reading the wall clock alone. */
function allowedByWallClock(window: CallingWindow, zone: string, t: number): boolean {
  const clock = wallClockAt(zone, t);
  if (window.blockedDates?.includes(clock.date)) return false;
  if (!window.days?.includes(clock.weekday as Weekday)) return false;
  const minute = Math.floor((clock.wallMs - Date.parse(`${clock.date}T00:00:00Z`)) / 60_000);
  return (window.hours as TimeRange[]).some(
    (r) => minute >= (minuteOf(r.start, false) ?? 0) && minute < (minuteOf(r.end, true) ?? 0),
  );
}

describe('calling window properties', () => {
  it('no call starts outside its window, and the next opening is the first allowed minute', () => {
    fc.assert(
      fc.property(
        windowArb,
        fc.constantFrom(...ZONES),
        // March to April 2026, across the northern spring forward and the southern fall back.
        fc
          .integer({ min: Date.UTC(2026, 2, 1), max: Date.UTC(2026, 3, 30) })
          .map((t) => Math.floor(t / 60_000) * 60_000),
        (window, zone, t) => {
          const span = new WindowSchedule(window, [], [zone]).spanAt(t);
          if (!span) return;
          expect(allowedByWallClock(window, zone, span.from)).toBe(true);
          expect(allowedByWallClock(window, zone, span.until - 60_000)).toBe(true);
          expect(span.from).toBeGreaterThanOrEqual(t);
          // Nothing allowed between t and the opening (sampled every 30 minutes, and the minute before).
          for (let m = t; m < span.from; m += 30 * 60_000)
            expect(allowedByWallClock(window, zone, m)).toBe(false);
          if (span.from > t) expect(allowedByWallClock(window, zone, span.from - 60_000)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { instantOfWall, isTimeZone, wallClockAt, wallOfDate } from '../../src/policy/local-time.js';

const at = (iso: string) => Date.parse(iso);

describe('wall clock through Intl', () => {
  it('reads the local date, weekday and time of a zone', () => {
    const clock = wallClockAt('America/New_York', at('2026-12-25T04:30:00Z'));
    expect(clock.date).toBe('2026-12-24');
    expect(clock.weekday).toBe('thu');
    expect(clock.wallMs).toBe(at('2026-12-24T23:30:00Z'));
  });

  it('knows IANA zones and refuses other names', () => {
    expect(isTimeZone('America/Chicago')).toBe(true);
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone(3)).toBe(false);
  });

  it('finds the instant of a local time on an ordinary day, in winter and in summer', () => {
    expect(instantOfWall('America/New_York', wallOfDate('2026-01-15', 9 * 60))).toBe(
      at('2026-01-15T14:00:00Z'),
    );
    expect(instantOfWall('America/New_York', wallOfDate('2026-07-15', 9 * 60))).toBe(
      at('2026-07-15T13:00:00Z'),
    );
  });

  it('spring forward: a skipped local time maps to the instant the clocks jumped', () => {
    // 2026-03-08 02:00 EST -> 03:00 EDT in New York: 02:30 does not exist.
    expect(instantOfWall('America/New_York', wallOfDate('2026-03-08', 150))).toBe(at('2026-03-08T07:00:00Z'));
    // 03:00 is the first minute after the jump, the same instant.
    expect(instantOfWall('America/New_York', wallOfDate('2026-03-08', 180))).toBe(at('2026-03-08T07:00:00Z'));
    expect(instantOfWall('America/New_York', wallOfDate('2026-03-08', 9 * 60))).toBe(
      at('2026-03-08T13:00:00Z'),
    );
  });

  it('fall back: a repeated local time maps to its first occurrence', () => {
    // 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice, first at 05:30Z.
    expect(instantOfWall('America/New_York', wallOfDate('2026-11-01', 90))).toBe(at('2026-11-01T05:30:00Z'));
    // In London (clocks back at 01:00 UTC on 2026-10-25): 01:30 first happens at 00:30Z.
    expect(instantOfWall('Europe/London', wallOfDate('2026-10-25', 90))).toBe(at('2026-10-25T00:30:00Z'));
  });

  it('a zone without DST keeps one offset all year; a half-hour zone keeps its half hour', () => {
    expect(instantOfWall('America/Phoenix', wallOfDate('2026-03-08', 9 * 60))).toBe(
      at('2026-03-08T16:00:00Z'),
    );
    expect(instantOfWall('America/Phoenix', wallOfDate('2026-07-08', 9 * 60))).toBe(
      at('2026-07-08T16:00:00Z'),
    );
    expect(instantOfWall('Asia/Kolkata', wallOfDate('2026-07-08', 9 * 60))).toBe(at('2026-07-08T03:30:00Z'));
    // Adelaide: +10:30 in January (DST), +09:30 in July.
    expect(instantOfWall('Australia/Adelaide', wallOfDate('2026-01-08', 9 * 60))).toBe(
      at('2026-01-07T22:30:00Z'),
    );
    expect(instantOfWall('Australia/Adelaide', wallOfDate('2026-07-08', 9 * 60))).toBe(
      at('2026-07-07T23:30:00Z'),
    );
  });
});

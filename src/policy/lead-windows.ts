import type { ValidationIssue } from '../errors.js';
import type { CallingWindow } from './calling-window.js';
import { timeZonesOfNumber } from './phone-time-zones.js';
import { rulesFor, WindowSchedule } from './window-schedule.js';

/** What a lead's window depends on. */
export interface WindowedLead {
  /** The lead's number, E.164. */
  to: string;
  /** The lead's own IANA zone, when given. */
  timeZone?: string;
}

/**
 * The zones a lead is called in: its own `timeZone`, else its number's (all of them where its
 * area code spans several), else the window's `timeZone`.
 * @returns the zones joined with `&` (as jobs store them), or undefined when none is known
 */
export function zonesOfLead(lead: WindowedLead, window: CallingWindow): string | undefined {
  if (lead.timeZone !== undefined) return lead.timeZone;
  const own = timeZonesOfNumber(lead.to);
  if (own) return own.join('&');
  return window.timeZone;
}

/**
 * The schedules of one run's leads, one per distinct zones and matching rules: every lead of a
 * zone and a state shares one, and with it the span it found last.
 */
export class RunWindows {
  private readonly schedules = new Map<string, WindowSchedule>();

  /** @param window - the run's window */
  constructor(readonly window: CallingWindow) {}

  /**
   * The schedule of a lead called at `to` in `zones` (as {@link zonesOfLead} writes them).
   */
  scheduleOf(to: string, zones: string): WindowSchedule {
    const rules = rulesFor(this.window, to);
    // By position: two rules may share a name.
    const key = `${zones}|${rules.map((rule) => this.window.rules?.indexOf(rule)).join(',')}`;
    let schedule = this.schedules.get(key);
    if (!schedule) {
      schedule = new WindowSchedule(this.window, rules, zones.split('&'));
      this.schedules.set(key, schedule);
    }
    return schedule;
  }
}

/**
 * Checks that every lead of a windowed run has a zone and a window that opens: a lead that could
 * never be called is refused before anything is written.
 * @param leads - the run's leads (each `to` already valid)
 * @param window - the run's valid window
 * @param now - the time the run starts, epoch ms
 * @param add - collects the issues
 */
export function checkLeadWindows(
  leads: readonly WindowedLead[],
  window: CallingWindow,
  now: number,
  add: (issue: ValidationIssue) => void,
): void {
  const windows = new RunWindows(window);
  leads.forEach((lead, row) => {
    const zones = zonesOfLead(lead, window);
    if (zones === undefined) {
      add({
        row,
        field: 'timeZone',
        message: `no time zone is known for ${lead.to} (its number names none): give the lead a timeZone, or the window one`,
      });
    } else if (windows.scheduleOf(lead.to, zones).spanAt(now) === undefined) {
      add({
        row,
        field: 'to',
        message: `its calling window never opens in ${zones} within a year (hours, days and rules leave no time)`,
      });
    }
  });
}

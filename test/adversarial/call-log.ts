import { appendFileSync, readFileSync } from 'node:fs';

/**
 * One line of the shared log that every process of the multi-process tests appends to. The
 * provider (one process) writes the calls as the phone network saw them, with a sequence number
 * that orders them; workers write what the library did (`dial()` entered and returned, slots
 * released, jobs ended); the test writes its own chaos (kills, Redis restarts).
 */
export interface LogEntry {
  /** Who wrote the line. */
  src: 'provider' | 'worker' | 'test';
  /** What happened. */
  ev: string;
  /** Wall-clock ms of the writing process. */
  t: number;
  /** The provider's order of its own lines (authoritative for call starts and ends). */
  seq?: number;
  /** The process that wrote the line (a worker), or that dialed the call (provider lines). */
  pid?: number;
  jobId?: string;
  runId?: string;
  businessId?: string;
  attempt?: number;
  lockToken?: string;
  callId?: string;
  /** A call or job status. */
  status?: string;
  /** Whether a delivered event changed the job (`event:delivered`). */
  applied?: boolean;
  /** Free text: an error message, a log message. */
  msg?: string;
  [field: string]: unknown;
}

/** The fields of a line its writer fills in (`src`, `t` and `seq` are added by the writer). */
export type LogFields = { ev: string } & Partial<Omit<LogEntry, 'src' | 't' | 'seq' | 'ev'>>;

/**
 * Appends one JSON line. `appendFileSync` writes with O_APPEND in one `write(2)`, so lines of
 * different processes never interleave within a line.
 * @param file - the shared log file
 * @param entry - the line to write
 */
export function appendLog(file: string, entry: LogEntry): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/**
 * Reads the shared log. A worker killed in the middle of a write could leave a torn last line; such
 * a line is reported, never silently dropped.
 * @returns every line, in file order
 */
export function readLog(file: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      throw new Error(`torn line in ${file}: ${line.slice(0, 200)}`);
    }
  }
  return entries;
}

/** Most calls live at once per business, from the provider's call starts and ends in its own order. */
export interface ConcurrencySweep {
  /** business id -> the most calls that were live at the same time. */
  maxLive: Map<string, number>;
  /** Calls that started and never ended (should be none once the provider is idle). */
  unended: string[];
}

/**
 * Sweeps the provider's `call:start` / `call:end` lines in the provider's order. A call's interval as
 * the provider sees it lies inside the interval the library holds its slot (from before `dial()` to
 * after the terminal event), so a count above the limit here is a real breach, never a false alarm.
 * @returns the peak per business and the calls that never ended
 */
export function sweepConcurrency(entries: readonly LogEntry[]): ConcurrencySweep {
  const calls = entries
    .filter((e) => e.src === 'provider' && (e.ev === 'call:start' || e.ev === 'call:end'))
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const live = new Map<string, number>();
  const maxLive = new Map<string, number>();
  const open = new Set<string>();
  for (const e of calls) {
    const business = e.businessId ?? '?';
    if (e.ev === 'call:start') {
      open.add(e.callId ?? '?');
      const n = (live.get(business) ?? 0) + 1;
      live.set(business, n);
      maxLive.set(business, Math.max(n, maxLive.get(business) ?? 0));
    } else {
      open.delete(e.callId ?? '?');
      live.set(business, (live.get(business) ?? 0) - 1);
    }
  }
  return { maxLive, unended: [...open] };
}

/**
 * Groups lines by a key, keeping file order within each group.
 * @returns key -> lines
 */
export function groupBy(entries: readonly LogEntry[], key: (e: LogEntry) => string): Map<string, LogEntry[]> {
  const groups = new Map<string, LogEntry[]>();
  for (const e of entries) {
    const k = key(e);
    const group = groups.get(k);
    if (group) group.push(e);
    else groups.set(k, [e]);
  }
  return groups;
}

import { createHash } from 'node:crypto';

/** One line of the simulation's log: what the provider saw, and the workload's and faults' steps. */
export interface TraceEntry {
  /** Order of the line in the log (the authoritative order of events at one instant). */
  seq: number;
  /** Virtual ms since the simulation's start. */
  t: number;
  /**
   * What happened. Provider: `dial:start` (dial() entered), `dial:rejected` (failed before the
   * request was sent), `dial:abandoned` (its process crashed before sending it), `call:start`,
   * `call:end`, `dial:returned`, `dial:threw`, `event:delivered`, `event:failed`, `event:lost`.
   * Workload and faults: `run:started`, `run:stopped` (stop() resolved), `crash`, `limiter:lost`, ...
   */
  ev: string;
  /** The simulated process (engine) concerned. */
  process?: number;
  jobId?: string;
  runId?: string;
  businessId?: string;
  attempt?: number;
  lockToken?: string;
  callId?: string;
  status?: string;
  /** Free text: an error, whether an event was applied, a fault's detail. */
  note?: string;
}

/** The log of one simulated schedule, shared by the provider, the workload and the faults. */
export class Trace {
  readonly entries: TraceEntry[] = [];

  /**
   * @param now - virtual ms since the start
   * @param verbose - also print each line as it is written
   */
  constructor(
    private readonly now: () => number,
    private readonly verbose = false,
  ) {}

  /** Appends one line. */
  add(fields: Omit<TraceEntry, 'seq' | 't'>): TraceEntry {
    const entry: TraceEntry = { seq: this.entries.length + 1, t: this.now(), ...fields };
    this.entries.push(entry);
    if (this.verbose) console.log(formatEntry(entry));
    return entry;
  }

  /** A digest of every line: two runs of one seed must give the same. */
  hash(): string {
    const hash = createHash('sha256');
    for (const entry of this.entries) hash.update(`${JSON.stringify(entry)}\n`);
    return hash.digest('hex').slice(0, 16);
  }
}

/** One line for a person: time, event, then the fields that are set. */
export function formatEntry(entry: TraceEntry): string {
  const { seq, t, ev, ...rest } = entry;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${String(seq).padStart(5)} ${(t / 1000).toFixed(3).padStart(9)}s ${ev.padEnd(15)} ${fields}`;
}

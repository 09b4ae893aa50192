import type { JobStatus, Logger } from 'outbound-queue';

const BAR_WIDTH = 28;

/**
 * What the demo prints: the OUTBOUND_* log lines as `NAME key=value ...`, and below them a
 * progress bar that redraws in place on a terminal (plain lines otherwise).
 */
export class ProgressView {
  maxActive = 0;
  private active = 0;
  private done = 0;
  private readonly outcomes = new Map<string, number>();
  private barShown = false;

  constructor(
    private readonly total: number,
    private readonly concurrency: number,
    private readonly tty: boolean,
  ) {}

  /** A logger that prints info and above, formatted like the lines users know. */
  readonly logger: Logger = {
    debug: () => {},
    info: (obj, msg) => this.print(msg, obj),
    warn: (obj, msg) => this.print(msg, obj),
    error: (obj, msg) => this.print(msg, obj),
  };

  dialing(_jobId: string): void {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.draw();
  }

  /**
   * A call ended. `final` is false when the job goes back to the line for a retry: it frees its
   * slot but is not done, and its next attempt is counted when it ends.
   */
  ended(_jobId: string, status: JobStatus, final: boolean): void {
    this.active -= 1;
    if (final) {
      this.done += 1;
      this.outcomes.set(status, (this.outcomes.get(status) ?? 0) + 1);
    }
    this.draw();
  }

  finish(): void {
    if (this.tty && this.barShown) process.stdout.write('\n');
    else if (!this.tty) console.log(this.bar());
  }

  private print(msg: string, obj: Record<string, unknown>): void {
    const fields = { ...obj };
    // active=2/3 run_active=1/2 group_active=5/10: each level with its limit.
    for (const [count, limit] of [
      ['active', 'limit'],
      ['run_active', 'run_limit'],
      ['group_active', 'group_limit'],
    ] as const) {
      if (typeof fields[count] === 'number' && typeof fields[limit] === 'number') {
        fields[count] = `${fields[count]}/${fields[limit]}`;
        delete fields[limit];
      }
    }
    const text = `${msg} ${Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ')}`;
    if (this.tty && this.barShown) process.stdout.write('\r\x1b[2K');
    console.log(text);
    if (this.tty && this.barShown) process.stdout.write(this.bar());
  }

  private draw(): void {
    if (!this.tty) return;
    process.stdout.write(`\r\x1b[2K${this.bar()}`);
    this.barShown = true;
  }

  private bar(): string {
    const filled = Math.round((this.done / this.total) * BAR_WIDTH);
    const outcomes = [...this.outcomes].map(([s, n]) => `${s}=${n}`).join(' ');
    return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.done}/${this.total} done, ${this.active}/${this.concurrency} calling ${outcomes}`;
  }
}

import type { OutboundQueue } from '../../src/queue/outbound-queue.js';
import type { LimitChangePlan } from './limit-plan.js';
import type { Random } from './random.js';
import type { SharedWorld, SimulatedProcess } from './simulated-process.js';
import type { Trace } from './trace.js';
import type { RunPlan } from './workload.js';

/** Wait before an action that failed (the backend was down) is tried again (virtual ms). */
const RETRY_MS = 500;

/**
 * Plays a workload and its faults on the virtual clock: starts, pauses, resumes and stops runs
 * through a live process (trying again while the backends are down, and on another process when
 * the one asked crashed), kills the first process, and makes the limiter lose its state. It logs
 * each step, and reads from the database what a resolved `stop()` must have left.
 */
export class Driver {
  /** Runs whose `startRun` resolved. */
  readonly started = new Set<string>();
  /** Jobs neither terminal nor placed when their run's `stop()` resolved. */
  readonly unplacedAtStop: { runId: string; jobId: string; status: string }[] = [];
  private left = 0;

  /**
   * @param world - the shared clock, database, limiter state, provider and plans
   * @param processes - the engines
   * @param trace - the log
   * @param rng - picks which process an action goes to
   */
  constructor(
    private readonly world: SharedWorld,
    private readonly processes: readonly SimulatedProcess[],
    private readonly trace: Trace,
    private readonly rng: Random,
  ) {}

  /** The last limit change of each target (`kind:id`): the next one waits for it. */
  private readonly changing = new Map<string, Promise<void>>();

  /** Actions of the workload not done yet (scheduled, under way or waiting to be tried again). */
  get pending(): number {
    return this.left;
  }

  /** Sets a timer for every step of the workload and of the faults. */
  schedule(): void {
    const { workload, faults, limiter, provider } = this.world;
    for (const run of workload.runs) {
      this.left += 1 + 2 * run.pauses.length + (run.stopAt === undefined ? 0 : 1);
      this.at(run.startAt, () => this.startRun(run));
    }
    for (const change of workload.limitChanges ?? []) {
      if (change.kind === 'run') continue;
      this.left += 1;
      this.at(change.at, () => this.setLimit(change));
    }
    for (const w of faults.store) {
      this.at(w.from, () => this.trace.add({ ev: 'store:down', note: `until ${w.to}` }));
      this.at(w.to, () => this.trace.add({ ev: 'store:up' }));
    }
    for (const w of faults.limiter) {
      this.at(w.from, () => this.trace.add({ ev: 'limiter:down', note: `until ${w.to}` }));
      this.at(w.to, () => this.trace.add({ ev: 'limiter:up' }));
    }
    for (const loss of faults.limiterLosses) {
      this.at(loss.at, () => {
        limiter.lose(loss.key);
        this.trace.add({ ev: 'limiter:lost', businessId: loss.key, note: loss.key ? 'one key' : 'whole' });
      });
    }
    const victim = this.processes[0];
    if (faults.crashAt !== undefined && victim && this.processes.length > 1) {
      this.at(faults.crashAt, () => {
        victim.kill();
        provider.crashed(victim.index);
        this.trace.add({ ev: 'crash', process: victim.index });
      });
    }
  }

  private startRun(run: RunPlan): void {
    const { runId, businessId, concurrency, priority, leads, retry, window, allowDuplicateNumbers } = run;
    this.act(
      'startRun',
      runId,
      (q) =>
        q.startRun({ runId, businessId, concurrency, priority, leads, retry, window, allowDuplicateNumbers }),
      (_, process) => {
        this.started.add(runId);
        this.trace.add({ ev: 'run:started', runId, businessId, process, note: `c${concurrency}` });
        for (const change of this.world.workload.limitChanges ?? []) {
          if (change.kind !== 'run' || change.id !== runId) continue;
          this.left += 1;
          this.at(this.world.clock.now() - this.world.t0 + change.at, () => this.setLimit(change));
        }
        for (const pause of run.pauses) {
          this.at(pause.at, () =>
            this.act(
              'pause',
              runId,
              (q) => q.pause(runId),
              () => this.at(pause.resumeAt, () => this.act('resume', runId, (q) => q.resume(runId))),
              () => this.done(),
            ),
          );
        }
        if (run.stopAt !== undefined) {
          const hangup = run.hangup;
          this.act(
            'stop',
            runId,
            (q) => q.stop(runId, { hangup }),
            (_, p) => this.stopped(runId, p),
            undefined,
            run.stopAt,
          );
        }
      },
    );
  }

  /**
   * Sets one planned limit through a live process, after the previous change of the same target
   * ended (so that the changes land in plan order), logging when it began (`limits:begin`, first
   * try) and when it resolved (`limits:end`): in between, either value may be in force.
   */
  private setLimit(change: LimitChangePlan): void {
    const target = `${change.kind}:${change.id}`;
    const previous = this.changing.get(target) ?? Promise.resolve();
    const note = JSON.stringify(change);
    const next = previous.then(
      () =>
        new Promise<void>((resolve) => {
          this.trace.add({ ev: 'limits:begin', note });
          this.act(
            'limits',
            change.id,
            (q): Promise<unknown> =>
              change.kind === 'business'
                ? q.setBusinessLimits(change.id, {
                    concurrency: change.concurrency,
                    group: change.group ?? undefined,
                  })
                : change.kind === 'group'
                  ? q.setGroupLimits(change.id, { concurrency: change.concurrency })
                  : q.setRunConcurrency(change.id, change.concurrency),
            () => {
              this.trace.add({ ev: 'limits:end', note });
              resolve();
            },
            () => {
              // The run ended first: nothing was changed.
              this.trace.add({ ev: 'limits:end', note: JSON.stringify({ ...change, refused: true }) });
              resolve();
            },
          );
        }),
    );
    this.changing.set(target, next);
  }

  /** `stop()` resolved: log it, and read what it left (every job terminal or its call placed). */
  private async stopped(runId: string, process: number): Promise<void> {
    this.trace.add({ ev: 'run:stopped', runId, process });
    const rows = await this.world.db
      .selectFrom('oq_jobs')
      .select(['id', 'status', 'attempt'])
      .where('run_id', '=', runId)
      .where('status', 'in', ['queued', 'dialing'])
      .execute();
    const dialed = new Set(
      this.trace.entries.filter((e) => e.ev === 'dial:start').map((e) => `${e.jobId}#${e.attempt}`),
    );
    for (const row of rows) {
      if (row.status === 'queued' || !dialed.has(`${row.id}#${Number(row.attempt)}`))
        this.unplacedAtStop.push({ runId, jobId: row.id, status: row.status });
    }
  }

  /**
   * Does one action through a live process, at `at` (virtual ms) or now, until it resolves; an
   * action refused because the run is no longer in a state for it (an `InvalidStateError`) is done.
   */
  private act<T>(
    name: string,
    runId: string,
    op: (queue: OutboundQueue) => Promise<T>,
    then?: (result: T, process: number) => void | Promise<void>,
    refused?: () => void,
    at?: number,
  ): void {
    const attempt = async () => {
      const live = this.processes.filter((p) => p.alive());
      if (live.length === 0) return this.done();
      const process = live.length === 1 ? (live[0] as SimulatedProcess) : this.rng.pick(live);
      try {
        const result = await Promise.race([op(process.queue), process.crashed]);
        this.done();
        await then?.(result, process.index);
      } catch (err) {
        if ((err as Error).name === 'InvalidStateError') {
          this.trace.add({ ev: `${name}:refused`, runId, process: process.index });
          this.done();
          refused?.();
          return;
        }
        this.trace.add({ ev: `${name}:failed`, runId, process: process.index, note: (err as Error).message });
        this.world.clock.setTimeout(() => void attempt(), RETRY_MS);
      }
    };
    if (at === undefined) void attempt();
    else this.at(at, () => void attempt());
  }

  private done(): void {
    this.left -= 1;
  }

  /** Runs `fn` at `at` virtual ms since the start (now, if that is past). */
  private at(at: number, fn: () => void): void {
    const { clock, t0 } = this.world;
    clock.setTimeout(fn, Math.max(0, at - (clock.now() - t0)));
  }
}

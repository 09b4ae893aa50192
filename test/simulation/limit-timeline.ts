import type { LimitChangePlan } from './limit-plan.js';
import type { TraceEntry } from './trace.js';
import type { Workload } from './workload.js';

/** A value that may have been in force during `[from, until]` (virtual ms). */
interface Span<T> {
  value: T;
  from: number;
  until: number;
}

/** One change as the trace tells it: begun, and ended unless the simulation stopped first. */
interface Change {
  plan: LimitChangePlan;
  begin: number;
  end: number;
}

/**
 * The limits in force over a simulation, read from the workload and the driver's `limits:begin` /
 * `limits:end` lines. A change's new value may be in force from its begin, the old one until its
 * end: every question asked here is answered with the highest value possibly in force, so a
 * count above it is a real breach, never a false alarm.
 */
export class LimitTimeline {
  private readonly changes = new Map<string, Change[]>();

  /**
   * @param trace - the simulation's log
   * @param workload - the seed's plan (initial run concurrencies, runs per business)
   */
  constructor(
    trace: readonly TraceEntry[],
    private readonly workload: Workload,
  ) {
    const open = new Map<string, Change>();
    for (const e of trace) {
      if (e.ev !== 'limits:begin' && e.ev !== 'limits:end') continue;
      const plan = JSON.parse(e.note ?? '{}') as LimitChangePlan & { refused?: boolean };
      const target = `${plan.kind}:${plan.id}`;
      if (e.ev === 'limits:begin') {
        const change = { plan, begin: e.t, end: Number.POSITIVE_INFINITY };
        open.set(target, change);
        this.changes.set(target, [...(this.changes.get(target) ?? []), change]);
      } else {
        const change = open.get(target);
        open.delete(target);
        if (!change) continue;
        change.end = e.t;
        // Refused (the run had ended): nothing changed.
        if (plan.refused)
          this.changes.set(
            target,
            (this.changes.get(target) ?? []).filter((c) => c !== change),
          );
      }
    }
  }

  /** The spans of one target's values, from its initial value. */
  private spans<T>(target: string, initial: T, valueIn: (plan: LimitChangePlan) => T): Span<T>[] {
    const changes = this.changes.get(target) ?? [];
    const spans: Span<T>[] = [];
    let value = initial;
    let from = 0;
    for (const change of changes) {
      spans.push({ value, from, until: change.end });
      value = valueIn(change.plan);
      from = change.begin;
    }
    spans.push({ value, from, until: Number.POSITIVE_INFINITY });
    return spans;
  }

  /** The values possibly in force at some instant of `[from, to]`. */
  private inForce<T>(spans: Span<T>[], from: number, to: number): T[] {
    return spans.filter((s) => s.from <= to && s.until >= from).map((s) => s.value);
  }

  /** The highest concurrency a run may have had during `[from, to]`. */
  runLimit(runId: string, from: number, to: number): number {
    const initial = this.workload.runs.find((r) => r.runId === runId)?.concurrency ?? 0;
    return Math.max(
      ...this.inForce(
        this.spans(`run:${runId}`, initial, (p) => p.concurrency),
        from,
        to,
      ),
    );
  }

  /**
   * The highest limit a business may have had during `[from, to]`: its own, or, where it had none,
   * the highest concurrency of its runs.
   */
  businessLimit(businessId: string, from: number, to: number): number {
    const spans = this.spans<number | null>(`business:${businessId}`, null, (p) => p.concurrency);
    const values = this.inForce(spans, from, to);
    const implicit = values.includes(null)
      ? Math.max(
          0,
          ...this.workload.runs
            .filter((r) => r.businessId === businessId)
            .map((r) => this.runLimit(r.runId, from, to)),
        )
      : 0;
    return Math.max(implicit, ...values.map((v) => v ?? 0));
  }

  /** The highest limit a group may have had during `[from, to]`, or null when it may have had none. */
  groupLimit(group: string, from: number, to: number): number | null {
    const values = this.inForce(
      this.spans<number | null>(`group:${group}`, null, (p) => p.concurrency),
      from,
      to,
    );
    return values.includes(null) ? null : Math.max(...(values as number[]));
  }

  /**
   * The group a business belonged to throughout `[from, to]` (`undefined`: it joined or left one
   * meanwhile; `null`: none).
   */
  steadyGroupOf(businessId: string, from: number, to: number): string | null | undefined {
    const groups = new Set(this.inForce(this.memberships(businessId), from, to));
    if (groups.size > 1) return undefined;
    const [group] = groups;
    return group ?? null;
  }

  private memberships(businessId: string): Span<string | null>[] {
    return this.spans<string | null>(`business:${businessId}`, null, (p) =>
      p.kind === 'business' ? p.group : null,
    );
  }
}

import { scopeOf } from '../limiter/limiter-scope.js';
import type { JobStore } from '../store/job-store.js';

/** What this process knows of a business's record: its scope and rates. */
export interface BusinessView {
  /** The business. */
  businessId: string;
  /** Its limiter scope: its own, or its group's. */
  scope: string;
  /** Its own concurrency limit, or null (the highest of its runs' applies). */
  concurrency: number | null;
  /** Its own dial-start rate, or null. */
  dialsPerSecond: number | null;
  /** Its account group, or null. */
  group: string | null;
  /** The group's dial-start rate, or null. */
  groupDialsPerSecond: number | null;
}

/**
 * This process's read of business records, kept for `ttlMs`: which scope a business's jobs ask
 * in, and which rates its dials keep. A business that joins or leaves a group is found at the
 * next ask in its old scope (rebuilt by the move, it answers that the business moved), so the
 * time to live mostly bounds how long a changed dial rate takes to apply.
 */
export class BusinessDirectory {
  private readonly views = new Map<string, { view: BusinessView; readAt: number }>();
  private readonly reading = new Map<string, Promise<BusinessView>>();
  /** Counts the changes made here ({@link BusinessDirectory.forget}). */
  private generation = 0;

  /**
   * @param store - where business and group records live
   * @param now - the queue's clock
   * @param ttlMs - how long a read is used
   */
  constructor(
    private readonly store: JobStore,
    private readonly now: () => number,
    private readonly ttlMs: number,
  ) {}

  /**
   * The business's view, read from the store unless a read younger than the time to live is kept.
   * @param businessId - the business
   */
  async view(businessId: string): Promise<BusinessView> {
    const kept = this.views.get(businessId);
    if (kept && this.now() - kept.readAt < this.ttlMs) return kept.view;
    // Reads of one business at once (its run's first offer, the renewal's, a dial's) share one.
    let reading = this.reading.get(businessId);
    if (!reading) {
      const started = this.read(businessId).finally(() => {
        if (this.reading.get(businessId) === started) this.reading.delete(businessId);
      });
      reading = started;
      this.reading.set(businessId, started);
    }
    return reading;
  }

  private async read(businessId: string): Promise<BusinessView> {
    const generation = this.generation;
    const record = await this.store.getBusiness(businessId);
    const group = record?.group ? await this.store.getGroup(record.group) : undefined;
    const view: BusinessView = {
      businessId,
      scope: scopeOf(businessId, record?.group),
      concurrency: record?.concurrency ?? null,
      dialsPerSecond: record?.dialsPerSecond ?? null,
      group: record?.group ?? null,
      groupDialsPerSecond: group?.dialsPerSecond ?? null,
    };
    // Kept unless a change was made here while it was read (the next view reads again).
    if (generation === this.generation) this.views.set(businessId, { view, readAt: this.now() });
    return view;
  }

  /**
   * Drops what is kept of businesses: the next view reads the store.
   * @param businessIds - the businesses (all when omitted)
   */
  forget(businessIds?: readonly string[]): void {
    if (!businessIds) this.views.clear();
    else for (const id of businessIds) this.views.delete(id);
    // A read under way began before the change: the next view reads again.
    this.generation += 1;
    if (!businessIds) this.reading.clear();
    else for (const id of businessIds) this.reading.delete(id);
  }
}

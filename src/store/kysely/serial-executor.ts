function ignore(): void {}

/**
 * Runs asynchronous tasks one at a time, in the order they were submitted. Each task waits on
 * its predecessor only, so finishing a task wakes the next one and no other: with W tasks waiting,
 * a hand-over costs O(1), where a mutex whose waiters all poll the lock costs O(W).
 *
 * A task must not submit a task to the same executor and await it: it would wait on itself.
 *
 * @example
 * ```ts
 * const serial = new SerialExecutor();
 * const [a, b] = await Promise.all([serial.run(() => first()), serial.run(() => second())]);
 * ```
 */
export class SerialExecutor {
  /** Settles when the last submitted task has settled, never rejects. */
  private tail: Promise<void> = Promise.resolve();

  /**
   * Runs `task` once every task submitted before it has settled.
   * @param task - started after its predecessors; its failure does not affect later tasks
   * @returns what `task` returns, or its rejection
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(ignore, ignore);
    return result;
  }
}

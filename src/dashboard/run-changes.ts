/** Called with the id of a run that changed. */
export type RunChangeListener = (runId: string) => void;

/**
 * Runs changed through this dashboard (started, paused, resumed, stopped): the queue emits no
 * event for those, and the open event streams should not wait for their next refresh to show them.
 */
export class RunChanges {
  private readonly listeners = new Set<RunChangeListener>();

  /**
   * Tells every listener that a run changed.
   * @param runId - the run
   */
  changed(runId: string): void {
    for (const listener of this.listeners) listener(runId);
  }

  /**
   * Adds a listener.
   * @param listener - called with each changed run's id
   * @returns a function that removes it
   */
  listen(listener: RunChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

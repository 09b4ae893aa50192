import type { JobTransition, TransitionResult } from '../../src/store/job-store.js';
import { isTerminal } from '../../src/store/job-transitions.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';

/** A store whose terminal writes wait until the test lets them through: a process stuck before its end is written. */
export class HeldEndsStore extends KyselyStore {
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  /** Terminal writes asked for so far. */
  held = 0;

  override async transition(change: JobTransition, now: number): Promise<TransitionResult> {
    if (isTerminal(change.status)) {
      this.held += 1;
      await this.gate;
    }
    return super.transition(change, now);
  }

  /** Lets every held and later terminal write through. */
  release(): void {
    this.open();
  }
}

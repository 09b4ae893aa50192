import { InvalidStateError } from '../../errors.js';
import type { SlotHolderSource, SlotHolders } from '../slot-limiter.js';
import type { RedisSlotKeyNames } from './redis-key-names.js';
import { replyInt, replyList, type SlotScripts, UNINITIALIZED } from './redis-scripts.js';

/**
 * A key's state in Redis and its rebuild from the holder source (the database) when Redis has
 * none: first use, a restart empty, an eviction. Scripts answer {@link UNINITIALIZED} for a key
 * without state; {@link RedisKeyState.withState} then rebuilds it and runs the script again.
 */
export class RedisKeyState {
  private source: SlotHolderSource | undefined;
  private readonly initializing = new Map<string, Promise<void>>();

  /**
   * @param scripts - the limiter's scripts (the rebuild script is used here)
   * @param names - the Redis keys of a limiter key
   */
  constructor(
    private readonly scripts: SlotScripts,
    private readonly names: (key: string) => RedisSlotKeyNames,
  ) {}

  /**
   * Sets where the holders of a key without state are read from.
   * @param source - raises the key's fence and reads the jobs that hold calls
   */
  setSource(source: SlotHolderSource): void {
    this.source = source;
  }

  /**
   * Runs a script that answers {@link UNINITIALIZED} when the key has no state; then rebuilds the
   * key from the holder source and runs it again. The rebuild only applies when the key is still
   * without state, so processes that race to initialise it agree on one state.
   * @param limit - the key's limit for a rebuild (0: the one stored, if any)
   * @param leaseMs - lease of the holders' slots a rebuild creates
   * @param what - the script's name, for reply errors
   * @param run - runs the script once
   * @returns the script's reply
   * @throws InvalidStateError when the key is still without state after two rebuilds
   */
  async withState(
    key: string,
    limit: number,
    leaseMs: number,
    what: string,
    run: () => Promise<unknown>,
  ): Promise<unknown[]> {
    for (let attempt = 0; ; attempt++) {
      const reply = replyList(await run(), what);
      if (replyInt(reply[0], what) !== UNINITIALIZED) return reply;
      // Still without state after two rebuilds: Redis keeps losing the key between our calls.
      if (attempt === 2)
        throw new InvalidStateError(`limiter state of key ${key} keeps vanishing from Redis`);
      await this.initialize(key, limit, leaseMs);
    }
  }

  /**
   * Runs the rebuild script: `if-newer` applies only over no state or a state with an older fence.
   * @returns whether the state was replaced
   */
  async rebuild(
    key: string,
    when: 'always' | 'if-newer',
    state: SlotHolders,
    limit: number,
    leaseMs: number,
  ): Promise<boolean> {
    const k = this.names(key);
    const mode = when === 'always' ? '0' : '1';
    const reply = await this.scripts.rebuild(
      k.slots,
      k.wait,
      k.meta,
      k.origin,
      k.passed,
      mode,
      limit,
      leaseMs,
      state.fence,
      ...state.holders,
    );
    return replyInt(reply, 'rebuild') === 1;
  }

  /** Rebuilds a key from the holder source; concurrent callers in this process share one rebuild. */
  private initialize(key: string, limit: number, leaseMs: number): Promise<void> {
    let pending = this.initializing.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          // Without a source (a limiter used on its own) nothing can be fenced: token 1, no holders.
          const state = this.source ? await this.source(key) : { fence: 1, holders: [] };
          await this.rebuild(key, 'if-newer', state, limit, leaseMs);
        } finally {
          this.initializing.delete(key);
        }
      })();
      this.initializing.set(key, pending);
    }
    return pending;
  }
}

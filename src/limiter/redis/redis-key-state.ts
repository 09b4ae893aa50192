import { InvalidStateError, ScopeMovedError } from '../../errors.js';
import { describeScope } from '../limiter-scope.js';
import type { SlotHolderSource, SlotHolders } from '../slot-limiter.js';
import type { RedisSlotKeyNames } from './redis-key-names.js';
import { replyInt, replyList } from './redis-script-replies.js';
import { NOT_A_MEMBER, type SlotScripts, UNINITIALIZED } from './redis-scripts.js';

/** How many times one call rebuilds a scope before it gives up (Redis keeps losing it). */
const MAX_REBUILDS = 3;

/**
 * A scope's state in Redis and its rebuild from the holder source (the database): when Redis has
 * none (first use, a restart empty, an eviction), and when a business is asked for that the
 * state does not list (it may have joined since). Scripts answer {@link UNINITIALIZED} or
 * {@link NOT_A_MEMBER}; {@link RedisKeyState.withState} then rebuilds the scope (or throws
 * `ScopeMovedError` when the database does not list the business either) and runs them again.
 */
export class RedisKeyState {
  private source: SlotHolderSource | undefined;
  private readonly initializing = new Map<string, Promise<void>>();

  /**
   * @param scripts - the limiter's scripts (the rebuild script is used here)
   * @param names - the Redis keys of a limiter scope
   */
  constructor(
    private readonly scripts: SlotScripts,
    private readonly names: (key: string) => RedisSlotKeyNames,
  ) {}

  /**
   * Sets where the state of a scope without one is read from.
   * @param source - raises the scope's fence and reads its members, limits and holders
   */
  setSource(source: SlotHolderSource): void {
    this.source = source;
  }

  /** Whether asks of any business are accepted: without a holder source, membership is unknown. */
  get acceptAny(): boolean {
    return !this.source;
  }

  /**
   * Runs a script that may answer {@link UNINITIALIZED} (the scope has no state, or only part of
   * it) or {@link NOT_A_MEMBER} (`member` is not in the state); rebuilds the scope from the holder
   * source then, and runs the script again. A rebuild applies only over no state or an older
   * fence, so processes that race to rebuild a scope agree on the newest read.
   * @param key - limiter scope
   * @param leaseMs - lease of the holders' slots a rebuild of a scope without state creates
   * @param what - the script's name, for reply errors
   * @param run - runs the script once
   * @param member - the business the script checks membership of, if any
   * @returns the script's reply
   * @throws ScopeMovedError when the holder source does not list `member` in the scope either
   * @throws InvalidStateError when the scope is still without state after three rebuilds
   */
  async withState(
    key: string,
    leaseMs: number,
    what: string,
    run: () => Promise<unknown>,
    member?: string,
  ): Promise<unknown[]> {
    for (let rebuilds = 0; ; rebuilds++) {
      const reply = replyList(await run(), what);
      const code = replyInt(reply[0], what);
      if (code !== UNINITIALIZED && code !== NOT_A_MEMBER) return reply;
      // Redis keeps losing the scope between our calls, or rebuilds keep leaving the business out.
      if (rebuilds === MAX_REBUILDS)
        throw new InvalidStateError(`limiter state of ${describeScope(key)} keeps vanishing from Redis`);
      if (code === UNINITIALIZED) await this.initialize(key, leaseMs);
      else await this.admit(key, member, leaseMs);
    }
  }

  /**
   * Runs the rebuild script.
   * @param options - `ifNewer`: only over no state or an older fence; `keepLease`: the lease the
   *   state replaced had, if any, instead of `leaseMs`
   * @returns whether the state was replaced
   */
  async rebuild(
    key: string,
    state: SlotHolders,
    leaseMs: number,
    options: { ifNewer: boolean; keepLease?: boolean },
  ): Promise<boolean> {
    const reply = await this.scripts.rebuild(this.names(key), state, leaseMs, {
      ifNewer: options.ifNewer,
      keepLease: options.keepLease ?? false,
      acceptAny: this.acceptAny,
    });
    return replyInt(reply, 'rebuild') === 1;
  }

  /**
   * A business the state does not list: the scope is rebuilt from a fresh read of the database,
   * which may list it (it joined the scope since the state was read); otherwise it belongs
   * elsewhere.
   */
  private async admit(key: string, member: string | undefined, leaseMs: number): Promise<void> {
    const source = this.source;
    if (member === undefined || !source)
      throw new InvalidStateError(`limiter state of ${describeScope(key)} refused an ask it cannot refuse`);
    // The read raised the members' fences: the state is replaced by it either way, or every
    // grant of the old one would fail its claim.
    const state = await source(key);
    await this.rebuild(key, state, leaseMs, { ifNewer: true, keepLease: true });
    if (!state.members.some((m) => m.business === member))
      throw new ScopeMovedError(member, describeScope(key));
  }

  /** Rebuilds a scope from the holder source; concurrent callers in this process share one rebuild. */
  private initialize(key: string, leaseMs: number): Promise<void> {
    let pending = this.initializing.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          // Without a source (a limiter used on its own) nothing can be fenced: token 1, no holders.
          const state: SlotHolders = this.source
            ? await this.source(key)
            : { fence: 1, holders: [], members: [], runs: [], groupLimit: null };
          await this.rebuild(key, state, leaseMs, { ifNewer: true });
        } finally {
          this.initializing.delete(key);
        }
      })();
      this.initializing.set(key, pending);
    }
    return pending;
  }
}

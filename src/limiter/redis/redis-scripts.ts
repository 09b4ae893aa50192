import type { Cluster, Redis } from 'ioredis';
import type { DialRate, LimitChange, SlotAsk, SlotHolders } from '../slot-limiter.js';
import { type RedisSlotKeyNames, scopeKeys } from './redis-key-names.js';
import acquireLua from './scripts/acquire.lua';
import scopeStateLua from './scripts/includes/scope-state.lua';
import rebuildLua from './scripts/rebuild.lua';
import reclaimLua from './scripts/reclaim.lua';
import releaseLua from './scripts/release.lua';
import removeLua from './scripts/remove.lua';
import renewLua from './scripts/renew.lua';
import reserveDialStartLua from './scripts/reserve-dial-start.lua';
import setLimitsLua from './scripts/set-limits.lua';

type ScriptCall = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/** The scripts that read or change a scope start with the scope-state include and its 8 keys. */
const withScope = (lua: string) => ({ numberOfKeys: 8, lua: `${scopeStateLua}\n${lua}` });

/**
 * One Lua script per limiter operation. Every key of one call shares the scope's hash tag, so
 * each script runs on one Redis Cluster slot.
 */
const SCRIPTS = {
  acquire: { command: 'oqScopeAcquire', ...withScope(acquireLua) },
  release: { command: 'oqScopeRelease', ...withScope(releaseLua) },
  setLimits: { command: 'oqScopeSetLimits', ...withScope(setLimitsLua) },
  renew: { command: 'oqScopeRenew', ...withScope(renewLua) },
  remove: { command: 'oqScopeRemove', ...withScope(removeLua) },
  rebuild: { command: 'oqScopeRebuild', ...withScope(rebuildLua) },
  reclaim: { command: 'oqScopeReclaim', numberOfKeys: 2, lua: reclaimLua },
  reserveDialStart: { command: 'oqScopeReserveDialStart', numberOfKeys: 1, lua: reserveDialStartLua },
} as const;

/** The reply of a script that found a scope without state, or with part of it lost. */
export const UNINITIALIZED = -1;
/** The reply of a script asked for a business that is not a member of the scope. */
export const NOT_A_MEMBER = -2;

/** Who calls: the limiter instance, and where its scripts publish promotions. */
export interface ScriptCaller {
  /** The calling limiter instance's id (promotions of the jobs it asked for are told to it). */
  instance: string;
  /** The signal channel. */
  channel: string;
  /** Whether the caller accepts asks of any business (it has no holder source). */
  acceptAny: boolean;
}

const flag = (on: boolean) => (on ? '1' : '0');
const limitArg = (limit: number | null | undefined) => (limit === null || limit === undefined ? '-' : limit);

const registered = new WeakSet<Redis | Cluster>();

/**
 * The limiter's scripts bound to one client, each taking its arguments by name and sending them
 * in the order its `.lua` header lists. Registered once per client (however many limiters share
 * it) with `defineCommand`: ioredis sends EVALSHA and falls back to EVAL when Redis lost its
 * script cache. Replies are returned as Redis sent them (see `redis-script-replies.ts`).
 */
export class SlotScripts {
  private readonly calls: Record<keyof typeof SCRIPTS, ScriptCall>;

  /**
   * @param client - the host's connection
   */
  constructor(client: Redis | Cluster) {
    if (!registered.has(client)) {
      for (const { command, numberOfKeys, lua } of Object.values(SCRIPTS))
        client.defineCommand(command, { numberOfKeys, lua });
      registered.add(client);
    }
    const commands = client as unknown as Record<string, ScriptCall>;
    const bind = (command: string): ScriptCall => {
      const call = commands[command];
      if (!call) throw new Error(`script ${command} is not registered on this client`);
      return (...keysAndArgs) => call.apply(client, keysAndArgs);
    };
    this.calls = Object.fromEntries(
      Object.entries(SCRIPTS).map(([name, { command }]) => [name, bind(command)]),
    ) as Record<keyof typeof SCRIPTS, ScriptCall>;
  }

  /** acquire.lua: `jobIds` of `ask.run` join its line, then eligible jobs are promoted. */
  acquire(
    k: RedisSlotKeyNames,
    key: string,
    jobIds: readonly string[],
    ask: SlotAsk,
    leaseMs: number,
    caller: ScriptCaller,
  ): Promise<unknown> {
    return this.calls.acquire(
      ...scopeKeys(k),
      k.lines,
      ask.business,
      ask.run,
      ask.runLimit,
      ask.priority ?? 1,
      leaseMs,
      caller.instance,
      flag(caller.acceptAny),
      caller.channel,
      key,
      ...jobIds,
    );
  }

  /** release.lua: frees (or, `pass`, passes) the slot of `jobId`; `fence` '' for any state. */
  release(
    k: RedisSlotKeyNames,
    key: string,
    jobId: string,
    fence: number | undefined,
    pass: boolean,
    caller: ScriptCaller,
  ): Promise<unknown> {
    return this.calls.release(
      ...scopeKeys(k),
      k.lines,
      jobId,
      caller.channel,
      key,
      caller.instance,
      fence === undefined ? '' : String(fence),
      flag(pass),
    );
  }

  /** set-limits.lua: applies `change`, checking that `member` (if any) belongs to the scope. */
  setLimits(
    k: RedisSlotKeyNames,
    key: string,
    change: LimitChange,
    member: string | undefined,
    caller: ScriptCaller,
  ): Promise<unknown> {
    const { business, group, run } = change;
    return this.calls.setLimits(
      ...scopeKeys(k),
      k.lines,
      caller.instance,
      caller.channel,
      key,
      flag(caller.acceptAny),
      flag(member !== undefined),
      member ?? '',
      flag(business !== undefined),
      business?.id ?? '',
      limitArg(business?.limit),
      flag(group !== undefined),
      limitArg(group),
      flag(run !== undefined),
      run?.id ?? '',
      run?.business ?? '',
      run?.limit ?? 0,
      run?.priority ?? 1,
    );
  }

  /** renew.lua: extends the leases of the slots of `jobIds`. */
  renew(k: RedisSlotKeyNames, jobIds: readonly string[], leaseMs: number): Promise<unknown> {
    return this.calls.renew(...scopeKeys(k), k.lines, leaseMs, ...jobIds);
  }

  /** remove.lua: drops `jobIds` from their lines; `retire` is a run whose feeder stopped. */
  remove(k: RedisSlotKeyNames, jobIds: readonly string[], retire: string | undefined): Promise<unknown> {
    return this.calls.remove(...scopeKeys(k), k.lines, flag(retire !== undefined), retire ?? '', ...jobIds);
  }

  /** reclaim.lua: reports and extends the expired slots. */
  reclaim(k: RedisSlotKeyNames, leaseMs: number): Promise<unknown> {
    return this.calls.reclaim(k.slots, k.passed, leaseMs);
  }

  /**
   * rebuild.lua: replaces the scope's state with `state`.
   * @param ifNewer - only over no state or an older fence
   * @param keepLease - keep the lease stored in the state replaced, if any, instead of `leaseMs`
   * @param acceptAny - the state accepts asks of any business (a limiter without a holder source)
   */
  rebuild(
    k: RedisSlotKeyNames,
    state: SlotHolders,
    leaseMs: number,
    options: { ifNewer: boolean; keepLease: boolean; acceptAny: boolean },
  ): Promise<unknown> {
    const args: Array<string | number> = [
      ...scopeKeys(k),
      k.lines,
      flag(options.ifNewer),
      leaseMs,
      flag(options.keepLease),
      String(state.fence),
      flag(options.acceptAny),
      limitArg(state.groupLimit),
      state.members.length,
    ];
    for (const member of state.members) args.push(member.business, limitArg(member.limit));
    args.push(state.runs.length);
    for (const run of state.runs) args.push(run.run, run.business, run.limit, run.priority ?? 1);
    for (const holder of state.holders) args.push(holder.jobId, holder.business, holder.run);
    return this.calls.rebuild(...args);
  }

  /** reserve-dial-start.lua: one start under every rate of `rates`. */
  reserveDialStart(k: RedisSlotKeyNames, rates: readonly DialRate[]): Promise<unknown> {
    const first = rates[0] as DialRate;
    const pairs = rates.flatMap((rate) => [rate.name, rate.perSecond]);
    return this.calls.reserveDialStart(`${k.rates}${first.name}`, k.rates, ...pairs);
  }
}

import type { Cluster, Redis } from 'ioredis';
import type { ReleaseResult } from '../slot-limiter.js';
import acquireLua from './scripts/acquire.lua';
import rebuildLua from './scripts/rebuild.lua';
import reclaimLua from './scripts/reclaim.lua';
import releaseLua from './scripts/release.lua';
import removeLua from './scripts/remove.lua';
import renewLua from './scripts/renew.lua';
import reserveDialStartLua from './scripts/reserve-dial-start.lua';

/** Calls one registered script: its keys first, then its arguments. */
export type ScriptCall = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * One Lua script per limiter operation, with the number of keys it declares. Every key of one
 * call shares a hash tag, so each script runs on one Redis Cluster slot.
 */
const SCRIPTS = {
  acquire: { command: 'oqSlotAcquire', numberOfKeys: 4, lua: acquireLua },
  release: { command: 'oqSlotRelease', numberOfKeys: 5, lua: releaseLua },
  renew: { command: 'oqSlotRenew', numberOfKeys: 2, lua: renewLua },
  remove: { command: 'oqSlotRemove', numberOfKeys: 3, lua: removeLua },
  reclaim: { command: 'oqSlotReclaim', numberOfKeys: 2, lua: reclaimLua },
  rebuild: { command: 'oqSlotRebuild', numberOfKeys: 5, lua: rebuildLua },
  reserveDialStart: { command: 'oqReserveDialStart', numberOfKeys: 1, lua: reserveDialStartLua },
} as const;

/** The limiter's scripts, bound to one client. */
export type SlotScripts = Record<keyof typeof SCRIPTS, ScriptCall>;

/** The reply of a script that found a key without state (see the scripts' headers). */
export const UNINITIALIZED = -1;

const registered = new WeakSet<Redis | Cluster>();

/**
 * Registers the scripts on `client` (once per client, however many limiters share it) with
 * `defineCommand`: ioredis sends EVALSHA and falls back to EVAL when Redis lost its script cache.
 * @returns the scripts bound to the client
 */
export function slotScripts(client: Redis | Cluster): SlotScripts {
  if (!registered.has(client)) {
    for (const { command, numberOfKeys, lua } of Object.values(SCRIPTS)) {
      client.defineCommand(command, { numberOfKeys, lua });
    }
    registered.add(client);
  }
  const commands = client as unknown as Record<string, ScriptCall>;
  const bind = (command: string): ScriptCall => {
    const call = commands[command];
    if (!call) throw new Error(`script ${command} is not registered on this client`);
    return (...keysAndArgs) => call.apply(client, keysAndArgs);
  };
  return {
    acquire: bind(SCRIPTS.acquire.command),
    release: bind(SCRIPTS.release.command),
    renew: bind(SCRIPTS.renew.command),
    remove: bind(SCRIPTS.remove.command),
    reclaim: bind(SCRIPTS.reclaim.command),
    rebuild: bind(SCRIPTS.rebuild.command),
    reserveDialStart: bind(SCRIPTS.reserveDialStart.command),
  };
}

function unexpected(reply: unknown, what: string): never {
  throw new Error(`unexpected reply from the ${what} script: ${JSON.stringify(reply)}`);
}

/**
 * A script reply as a list (every limiter script but remove and reserve-dial-start returns one).
 * @returns the list
 */
export function replyList(reply: unknown, what: string): unknown[] {
  return Array.isArray(reply) ? reply : unexpected(reply, what);
}

/**
 * A script reply element as a whole number. Lua numbers may reach us as floats (ioredis-mock).
 * @returns the number
 */
export function replyInt(reply: unknown, what: string): number {
  const n = typeof reply === 'number' ? reply : typeof reply === 'string' ? Number(reply) : Number.NaN;
  return Number.isFinite(n) ? Math.trunc(n) : unexpected(reply, what);
}

/**
 * A script reply element as a list of job ids.
 * @returns the ids
 */
export function replyIds(reply: unknown, what: string): string[] {
  if (!Array.isArray(reply)) return unexpected(reply, what);
  return reply.map((id) =>
    typeof id === 'string' ? id : Buffer.isBuffer(id) ? id.toString('utf8') : unexpected(reply, what),
  );
}

/**
 * The release script's reply as a {@link ReleaseResult}.
 * @param reply - `{released, active, limit, queueLength, {promoted}, fence, …}` (see release.lua)
 */
export function releaseResult(reply: unknown[]): ReleaseResult {
  return {
    released: replyInt(reply[0], 'release') === 1,
    active: replyInt(reply[1], 'release'),
    limit: replyInt(reply[2], 'release'),
    queueLength: replyInt(reply[3], 'release'),
    promoted: replyIds(reply[4], 'release'),
    fence: replyInt(reply[5], 'release'),
  };
}

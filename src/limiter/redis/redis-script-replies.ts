import type { AcquireStatus, SlotLevels } from '../slot-limiter.js';

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
 * A script reply element as a whole number. Lua numbers may reach us as floats (ioredis-mock),
 * the fencing token as a string.
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
 * The levels a script returns (`{active, limit, runActive, runLimit, queueLength, groupActive,
 * groupLimit, fence}`, the group's -1 when no group limit is set: see acquire.lua).
 * @returns the levels, with the group's only when set
 */
export function replyLevels(reply: unknown, what: string): SlotLevels {
  const [active, limit, runActive, runLimit, queueLength, groupActive, groupLimit, fence] = replyList(
    reply,
    what,
  ).map((n) => replyInt(n, what));
  const levels: SlotLevels = {
    active: active as number,
    limit: limit as number,
    runActive: runActive as number,
    runLimit: runLimit as number,
    queueLength: queueLength as number,
  };
  if ((groupLimit as number) >= 0) {
    levels.groupActive = groupActive as number;
    levels.groupLimit = groupLimit as number;
  }
  levels.fence = fence as number;
  return levels;
}

const ACQUIRE_STATUSES: Record<number, AcquireStatus> = {
  1: 'acquired',
  2: 'enqueued',
  3: 'already_queued',
  4: 'inflight',
};

/**
 * The acquire script's codes as statuses.
 * @returns one status per job
 */
export function replyStatuses(reply: unknown): AcquireStatus[] {
  return replyList(reply, 'acquire').map((code) => {
    const status = ACQUIRE_STATUSES[replyInt(code, 'acquire')];
    if (!status) throw new Error(`unexpected acquire status ${String(code)}`);
    return status;
  });
}

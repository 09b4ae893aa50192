/** The Redis keys of one limiter key (business); the `{key}` hash tag puts them on one Cluster slot. */
export interface RedisSlotKeyNames {
  /** ZSET: job id -> lease expiry (epoch ms) of the slots held. */
  slots: string;
  /** ZSET: job id -> arrival number, the FIFO waiting line. */
  wait: string;
  /** HASH: `fence` (the key's fencing token, set once it has state), `limit`, `leaseMs`, `seq` (last arrival number). */
  meta: string;
  /** HASH: waiting job id -> id of the limiter instance that asked for it (who to tell of its promotion). */
  origin: string;
  /** HASH: job id -> the job whose slot was passed to it (`SlotLimiter.pass`), until its own slot is freed. */
  passed: string;
}

/**
 * Escapes a key for use inside a hash tag. Braces would cut the tag short (a key starting with `}`
 * would make it empty, spreading one business's keys over slots); `%` is escaped too so that
 * different keys stay different.
 * @param key - a limiter key or dial-rate scope as the caller names it
 */
export function escapeTag(key: string): string {
  return key.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The Redis keys of one limiter key, all under the hash tag `{<key>}`.
 * @param prefix - the limiter's key prefix (no braces)
 * @param key - limiter key (business id)
 */
export function slotKeyNames(prefix: string, key: string): RedisSlotKeyNames {
  const base = `${prefix}:{${escapeTag(key)}}`;
  return {
    slots: `${base}:slots`,
    wait: `${base}:wait`,
    meta: `${base}:meta`,
    origin: `${base}:origin`,
    passed: `${base}:passed`,
  };
}

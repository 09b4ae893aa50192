/**
 * The Redis keys of one limiter scope, all under the hash tag `{<scope>}` so that every script
 * of the scope runs on one Redis Cluster slot. The lines and rates are families of keys: a
 * script builds each name from its prefix (the tag is in the prefix, so the slot is the same).
 */
export interface RedisSlotKeyNames {
  /**
   * HASH: `fence` (the scope's fencing token, set once it has state), `leaseMs`, `seq`, `order`,
   * the counts `held`, `queued`, `runs`, `businesses`, `group` (the group's limit), `any`.
   */
  meta: string;
  /** ZSET: job id -> lease expiry (epoch ms) of the slots held. */
  slots: string;
  /** HASH: job id holding a slot -> its run. */
  holders: string;
  /** HASH: waiting job id -> its run. */
  waiting: string;
  /** HASH: waiting job id -> id of the limiter instance that asked for it (who to tell of its promotion). */
  origin: string;
  /** HASH: job id -> the job whose slot was passed to it (`SlotLimiter.pass`), until its own slot is freed. */
  passed: string;
  /** HASH: run id -> its limit, weight, slots held, pass, first-seen number, line length, business. */
  runs: string;
  /** HASH: business id -> its limit, slots held, pass, first-seen number. */
  businesses: string;
  /** Prefix of the runs' lines: `<lines><run id>` is a ZSET, job id -> arrival number (FIFO). */
  lines: string;
  /** Prefix of the dial-start rates: `<rates><name>` holds the rate's next free instant. */
  rates: string;
}

/** Characters written `%XX` in a hash tag. */
const ESCAPED = new Set(['%', '{', '}', '\u0000']);

/**
 * Escapes a scope for use inside a hash tag. Braces would cut the tag short (a scope starting
 * with `}` would make it empty, spreading one scope's keys over slots); `%` is escaped so that
 * different scopes stay different, and NUL (the mark of a group's scope) so that it reads `%00`.
 * @param key - a limiter scope as the caller names it
 */
export function escapeTag(key: string): string {
  let tag = '';
  for (const c of key)
    tag += ESCAPED.has(c) ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return tag;
}

/**
 * The Redis keys of one limiter scope, all under the hash tag `{<scope>}`.
 * @param prefix - the limiter's key prefix (no braces)
 * @param key - limiter scope (a business id, or a group's scope)
 */
export function slotKeyNames(prefix: string, key: string): RedisSlotKeyNames {
  const base = `${prefix}:{${escapeTag(key)}}`;
  return {
    meta: `${base}:meta`,
    slots: `${base}:slots`,
    holders: `${base}:holders`,
    waiting: `${base}:waiting`,
    origin: `${base}:origin`,
    passed: `${base}:passed`,
    runs: `${base}:runs`,
    businesses: `${base}:businesses`,
    lines: `${base}:line:`,
    rates: `${base}:rate:`,
  };
}

/**
 * The keys every script that reads or changes a scope declares, in the order of
 * `scripts/includes/scope-state.lua`, followed by that include's `ARGV[1]` (the lines' prefix).
 * @param k - the scope's key names
 */
export function scopeKeys(k: RedisSlotKeyNames): string[] {
  return [k.meta, k.slots, k.holders, k.waiting, k.origin, k.passed, k.runs, k.businesses];
}

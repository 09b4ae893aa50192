import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';

/** Options of `RedisSlotLimiter`. */
export interface RedisSlotLimiterOptions {
  /** The host's ioredis connection (`Redis` or `Cluster`); the limiter never closes it. */
  redis: Redis | Cluster;
  /** Prefix of every key and of the signal channel (default `oq`); no `{` or `}`. */
  prefix?: string;
  /**
   * A connection for pub/sub, owned by the host and dedicated to subscriptions. Without it the
   * limiter opens one with `redis.duplicate()` on the first `RedisSlotLimiter.subscribe`,
   * and closes it in `RedisSlotLimiter.close`.
   */
  subscriber?: Redis | Cluster;
  /**
   * Lease given to holders read from the holder source when the operation that found the scope
   * without state carries no lease of its own (`release`, `setLimits`). Default 30,000 ms.
   */
  holderLeaseMs?: number;
  /** Where subscription problems are reported (pino-compatible; silent by default). */
  logger?: Logger;
}

/**
 * `outbound-queue/redis`: concurrency slots shared by every process through Redis or Redis Cluster
 * (ioredis).
 * @packageDocumentation
 */

export type { NodeEvictionPolicy } from './limiter/redis/redis-eviction-policy.js';
export type { RedisSlotKeyNames } from './limiter/redis/redis-key-names.js';
export type { RedisSlotLimiterOptions } from './limiter/redis/redis-slot-limiter.js';
export { RedisSlotLimiter } from './limiter/redis/redis-slot-limiter.js';

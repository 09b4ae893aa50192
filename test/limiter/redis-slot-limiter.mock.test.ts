import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { describe, expect, it } from 'vitest';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import { ask } from './limiter-test-helpers.js';
import { slotLimiterContract } from './slot-limiter.contract.js';

// ioredis-mock instances share one in-memory data set and pub/sub: each test gets its own prefix.
let suite = 0;
const freshPrefix = () => `mock${process.pid}-${++suite}`;
const mockRedis = () => new RedisMock() as unknown as Redis;

slotLimiterContract(
  'RedisSlotLimiter on ioredis-mock',
  async () => {
    const redis = mockRedis();
    const limiter = new RedisSlotLimiter({ redis, prefix: freshPrefix() });
    return {
      limiter,
      whenSubscribed: () => limiter.whenSubscribed(),
      async close() {
        await limiter.close();
        redis.disconnect();
      },
    };
  },
  { reliableClock: false, fenced: true },
);

describe('RedisSlotLimiter on ioredis-mock', () => {
  it('tells a second limiter (another process) about promotions of the jobs it asked for', async () => {
    const prefix = freshPrefix();
    const a = new RedisSlotLimiter({ redis: mockRedis(), prefix });
    const b = new RedisSlotLimiter({ redis: mockRedis(), prefix });
    const seen = new Promise((resolve) => b.subscribe(resolve));
    await b.whenSubscribed();
    await a.acquire('biz', 'j1', ask('r1', 1, 'biz'), 60_000);
    await b.acquire('biz', 'j2', ask('r1', 1, 'biz'), 60_000);
    await a.release('biz', 'j1');
    expect(await seen).toEqual({ key: 'biz', promoted: ['j2'] });
    await Promise.all([a.close(), b.close()]);
  });
});

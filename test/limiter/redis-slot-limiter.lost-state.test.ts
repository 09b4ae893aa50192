/**
 * Part of a key's state lost behind the limiter's back, as `maxmemory` with an evicting policy
 * does (any key may go, not the whole state at once), and the warning about such a policy.
 */
import { Cluster, Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import type { SlotHolders } from '../../src/limiter/slot-limiter.js';
import { MemoryLogger } from '../support/recording-dialer.js';
import { type RedisServerHandle, redisCommand, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { ask as askOf } from './limiter-test-helpers.js';

const LONG = 60_000;
let prefixes = 0;
/** An ask of run r1 of business biz. */
const ask = (runLimit: number) => askOf('r1', runLimit, 'biz');

/**
 * A stand-in for the database: the jobs that hold calls (of run r1, whose limit it knows), and a
 * fence raised on every read.
 */
function holderSource(holders: () => string[], runLimit = 2) {
  const reads: SlotHolders[] = [];
  const source = async (): Promise<SlotHolders> => {
    const read: SlotHolders = {
      fence: reads.length + 1,
      holders: holders().map((jobId) => ({ jobId, business: 'biz', run: 'r1' })),
      members: [{ business: 'biz', limit: null }],
      runs: [{ run: 'r1', business: 'biz', limit: runLimit }],
      groupLimit: null,
    };
    reads.push(read);
    return read;
  };
  return { source, reads };
}

describe.skipIf(!requireServer('redis'))('RedisSlotLimiter with part of its state lost', () => {
  let server: RedisServerHandle;
  const clients: Array<Redis | Cluster> = [];
  const redis = (url: string) => {
    const client = new Redis(url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  it('rebuilds from the holder source when slots vanished but meta stayed, so the limit holds', async () => {
    const prefix = `lost${++prefixes}`;
    const limiter = new RedisSlotLimiter({ redis: redis(server.url), prefix });
    const held = new Set<string>();
    const { source, reads } = holderSource(() => [...held]);
    limiter.setHolderSource(source);
    for (const job of ['j1', 'j2']) {
      expect((await limiter.acquire('biz', job, ask(2), LONG)).status).toBe('acquired');
      held.add(job); // claimed and dialing, as far as the database knows
    }
    expect(reads).toHaveLength(1);

    // An eviction takes the slots (and nothing else) while both calls are live.
    expect(await redisCommand(server.port, 'DEL', limiter.keyNames('biz').slots)).toBe('1');

    const third = await limiter.acquire('biz', 'j3', ask(2), LONG);
    expect(third).toMatchObject({ status: 'enqueued', active: 2, limit: 2 });
    expect(reads).toHaveLength(2);
    expect(third.fence).toBe(2);
    // The rebuilt slots are the holders: renewing them finds them, releasing one hands it on.
    expect(await limiter.renew('biz', ['j1', 'j2'], LONG)).toEqual([]);
    expect(await limiter.release('biz', 'j1')).toMatchObject({ released: true, promoted: ['j3'] });
  });

  it('a renew after slots vanished rebuilds instead of reporting live calls as slot-less', async () => {
    const prefix = `lost${++prefixes}`;
    const limiter = new RedisSlotLimiter({ redis: redis(server.url), prefix });
    const { source, reads } = holderSource(() => ['j1'], 1);
    limiter.setHolderSource(source);
    await limiter.acquire('biz', 'j1', ask(1), LONG);
    await redisCommand(server.port, 'DEL', limiter.keyNames('biz').slots);
    expect(await limiter.renew('biz', ['j1'], LONG)).toEqual([]);
    expect(reads).toHaveLength(2);
    expect((await limiter.acquire('biz', 'j2', ask(1), LONG)).status).toBe('enqueued');
  });

  it('treats a lost waiting line as a lost state, and a line emptied by remove as an empty one', async () => {
    const prefix = `lost${++prefixes}`;
    const limiter = new RedisSlotLimiter({ redis: redis(server.url), prefix });
    const { source, reads } = holderSource(() => ['j1'], 1);
    limiter.setHolderSource(source);
    await limiter.acquire('biz', 'j1', ask(1), LONG);
    await limiter.acquireMany('biz', ['j2', 'j3'], ask(1), LONG);
    // remove keeps the counts: no rebuild follows.
    expect(await limiter.remove('biz', ['j3'])).toBe(1);
    expect((await limiter.acquire('biz', 'j2', ask(1), LONG)).status).toBe('already_queued');
    expect(reads).toHaveLength(1);
    // The run's line goes: the state is rebuilt (the line with it), and j2 is told to line up again.
    await redisCommand(server.port, 'DEL', `${limiter.keyNames('biz').lines}r1`);
    expect((await limiter.acquire('biz', 'j2', ask(1), LONG)).status).toBe('enqueued');
    expect(reads).toHaveLength(2);
    // A release sees it too, and rebuilds before it promotes anything.
    await redisCommand(server.port, 'DEL', limiter.keyNames('biz').waiting);
    expect(await limiter.release('biz', 'j1')).toMatchObject({ released: true, promoted: [] });
    expect(reads).toHaveLength(3);
  });

  it.each(['holders', 'runs', 'businesses', 'meta'] as const)(
    'rebuilds when the %s key vanished alone, keeping the limit',
    async (name) => {
      const prefix = `lost${++prefixes}`;
      const limiter = new RedisSlotLimiter({ redis: redis(server.url), prefix });
      const { source, reads } = holderSource(() => ['j1', 'j2']);
      limiter.setHolderSource(source);
      await limiter.acquireMany('biz', ['j1', 'j2'], ask(2), LONG);
      await redisCommand(server.port, 'DEL', limiter.keyNames('biz')[name]);
      expect(await limiter.acquire('biz', 'j3', ask(2), LONG)).toMatchObject({
        status: 'enqueued',
        active: 2,
        limit: 2,
        runActive: 2,
      });
      expect(reads).toHaveLength(2);
      expect(await limiter.release('biz', 'j1')).toMatchObject({ released: true, promoted: ['j3'] });
    },
  );

  it('says nothing about the eviction policy of a server that never evicts', async () => {
    const logger = new MemoryLogger();
    const limiter = new RedisSlotLimiter({ redis: redis(server.url), prefix: `lost${++prefixes}`, logger });
    await limiter.acquire('biz', 'j1', ask(1), LONG);
    expect(await limiter.checkEvictionPolicy()).toEqual([{ node: 'default', policy: 'noeviction' }]);
    expect(logger.lines).toEqual([]);
  });
});

describe('RedisSlotLimiter on ioredis-mock with part of its state lost', () => {
  it('rebuilds when slots vanished but meta stayed (the scripts run on the mock too)', async () => {
    const client = new RedisMock() as unknown as Redis;
    const limiter = new RedisSlotLimiter({ redis: client, prefix: `mocklost${process.pid}` });
    const { source, reads } = holderSource(() => ['j1', 'j2']);
    limiter.setHolderSource(source);
    await limiter.acquireMany('biz', ['j1', 'j2'], ask(2), LONG);
    await client.del(limiter.keyNames('biz').slots);
    expect(await limiter.acquire('biz', 'j3', ask(2), LONG)).toMatchObject({ status: 'enqueued', active: 2 });
    expect(reads).toHaveLength(2);
    expect(await limiter.checkEvictionPolicy()).toEqual([
      expect.objectContaining({ node: 'default', policy: undefined }),
    ]);
    client.disconnect();
  });
});

describe.skipIf(!requireServer('redis'))('RedisSlotLimiter on a server that evicts keys', () => {
  let servers: RedisServerHandle[] = [];
  const clients: Array<Redis | Cluster> = [];

  beforeAll(async () => {
    const lru = ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'];
    servers = await Promise.all([
      startRedisServer({ args: lru }),
      // CONFIG renamed away, as managed services do: the policy is read from INFO instead.
      startRedisServer({ args: [...lru, '--rename-command', 'CONFIG', ''] }),
      startRedisServer({ cluster: true, args: lru }),
    ]);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  });

  const warnings = (logger: MemoryLogger) => logger.named('OUTBOUND_REDIS_EVICTION_POLICY');

  it.each([
    ['a server', 0],
    ['a server with CONFIG disabled', 1],
  ])('warns once on first use on %s', async (_name, index) => {
    const server = servers[index]!;
    const client = new Redis(server.url);
    clients.push(client);
    const logger = new MemoryLogger();
    const limiter = new RedisSlotLimiter({ redis: client, prefix: 'evict', logger });
    await limiter.acquire('biz', 'j1', ask(1), LONG);
    await limiter.acquire('biz', 'j2', ask(1), LONG);
    await limiter.checkEvictionPolicy();
    expect(warnings(logger)).toHaveLength(1);
    expect(warnings(logger)[0]).toMatchObject({ level: 'warn', obj: { policy: 'allkeys-lru' } });
    await limiter.release('biz', 'j1');
    expect(warnings(logger)).toHaveLength(1);
  });

  it('warns once on first use on a Redis Cluster, naming the masters that evict', async () => {
    const server = servers[2]!;
    const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }]);
    clients.push(cluster);
    const logger = new MemoryLogger();
    const limiter = new RedisSlotLimiter({ redis: cluster, prefix: 'evict', logger });
    await limiter.acquire('biz', 'j1', ask(1), LONG);
    const nodes = await limiter.checkEvictionPolicy();
    expect(nodes).toEqual([{ node: `127.0.0.1:${server.port}`, policy: 'allkeys-lru' }]);
    expect(warnings(logger)).toHaveLength(1);
    expect(warnings(logger)[0]?.obj).toMatchObject({
      policy: 'allkeys-lru',
      nodes: [`127.0.0.1:${server.port}=allkeys-lru`],
    });
  });
});

import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupScope } from '../../src/limiter/limiter-scope.js';
import { RedisSlotLimiter } from '../../src/limiter/redis/redis-slot-limiter.js';
import { type RedisServerHandle, redisCommand, startRedisServer } from '../support/redis-server.js';
import { requireServer } from '../support/servers.js';
import { ask, countdown, eventually } from './limiter-test-helpers.js';
import { holders, slotLimiterContract } from './slot-limiter.contract.js';

const biz = (runLimit: number) => ask('r1', runLimit, 'biz');

const available = requireServer('redis');
let prefixes = 0;
const freshPrefix = () => `real${++prefixes}`;

describe.skipIf(!available)('RedisSlotLimiter on a real redis-server', () => {
  let server: RedisServerHandle;
  let clusterServer: RedisServerHandle;
  const clients: Array<Redis | Cluster> = [];
  const redis = () => {
    const client = new Redis(server.url);
    clients.push(client);
    return client;
  };
  /**
   * Resolves once every connection opened on `server` is connected again (each answers a PING; a
   * client still reconnecting queues it until it is back), so that the server's connection count
   * moves only with what a test does. After a restart, idle clients come back one by one on
   * ioredis's backoff, up to 2 s apart, and later on a loaded machine.
   */
  const allConnected = () =>
    Promise.all(clients.filter((c): c is Redis => c instanceof Redis).map((c) => c.ping()));
  const cluster = () => {
    const client = new Cluster([{ host: '127.0.0.1', port: clusterServer.port }]);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    [server, clusterServer] = await Promise.all([startRedisServer(), startRedisServer({ cluster: true })]);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all([server?.stop(), clusterServer?.stop()]);
  });

  slotLimiterContract(
    'RedisSlotLimiter on redis-server',
    async () => {
      const limiter = new RedisSlotLimiter({ redis: redis(), prefix: freshPrefix() });
      return { limiter, whenSubscribed: () => limiter.whenSubscribed(), close: () => limiter.close() };
    },
    { fenced: true },
  );

  // Redis Cluster rejects a script whose keys span slots (CROSSSLOT): the whole contract passing on
  // a cluster proves every script's keys share one hash slot.
  slotLimiterContract(
    'RedisSlotLimiter on Redis Cluster',
    async () => {
      const limiter = new RedisSlotLimiter({ redis: cluster(), prefix: freshPrefix() });
      return { limiter, whenSubscribed: () => limiter.whenSubscribed(), close: () => limiter.close() };
    },
    { fenced: true },
  );

  it('names the keys of one scope with one hash slot, whatever the scope', async () => {
    const limiter = new RedisSlotLimiter({ redis: redis() });
    for (const key of [
      '4',
      'business-a',
      'x{y}z',
      '}{',
      'ünï',
      'a b:c',
      groupScope('twilio-main'),
      groupScope('}'),
    ]) {
      const k = limiter.keyNames(key);
      // The families' members too: a run's line and a rate are named from their prefixes.
      const names = [...Object.values(k), `${k.lines}run-1`, `${k.rates}{group}`];
      const slots = await Promise.all(
        names.map((name) => redisCommand(clusterServer.port, 'CLUSTER', 'KEYSLOT', name)),
      );
      expect(new Set(slots).size, `${key}: ${names.join(' ')}`).toBe(1);
    }
    // Escaping braces, % and NUL keeps different scopes different, and a group's tag readable.
    expect(limiter.keyNames('{').slots).not.toBe(limiter.keyNames('%7B').slots);
    expect(limiter.keyNames(groupScope('g')).meta).toBe('oq:{%00g}:meta');
    expect(limiter.keyNames(groupScope('g')).meta).not.toBe(limiter.keyNames('%00g').meta);
    expect(limiter.keyNames('business-4').slots).toBe('oq:{business-4}:slots');
    expect(() => new RedisSlotLimiter({ redis: redis(), prefix: 'a{b}' })).toThrow(/prefix/);
    await expect(limiter.acquire('', 'j1', biz(1), 1_000)).rejects.toThrow(/key/);
  });

  it('keeps the limit through a Redis restart that lost everything, by rebuilding from the holder source', async () => {
    const database = new Set<string>(); // jobs that hold calls, as the database records them
    const holderReads: string[] = [];
    const source = async (key: string) => {
      holderReads.push(key);
      return {
        ...holders(
          holderReads.length,
          [...database].map((job): [string, string, string] => [job, 'r1', 'biz']),
        ),
        members: [{ business: 'biz', limit: null }],
        runs: [{ run: 'r1', business: 'biz', limit: 2 }],
      };
    };
    const client = redis();
    const a = new RedisSlotLimiter({ redis: client });
    const b = new RedisSlotLimiter({ redis: redis() });
    a.setHolderSource(source);
    b.setHolderSource(source);
    for (const id of ['j1', 'j2']) {
      expect((await a.acquire('biz', id, biz(2), 60_000)).status).toBe('acquired');
      database.add(id);
    }
    expect((await a.acquire('biz', 'j3', biz(2), 60_000)).status).toBe('enqueued');
    const readsBefore = holderReads.length;

    await server.restart({ empty: true });
    await eventually(
      () => client.ping().catch(() => 'down'),
      (reply) => reply === 'PONG',
    );

    // Two processes race to initialise the key: the limit still holds, one rebuild wins.
    const [x, y] = await Promise.all([
      a.acquire('biz', 'x', biz(2), 60_000),
      b.acquire('biz', 'y', biz(2), 60_000),
    ]);
    expect([x.status, y.status]).toEqual(['enqueued', 'enqueued']);
    expect(x.active).toBe(2);
    expect(holderReads.length).toBeGreaterThan(readsBefore);
    expect((await a.acquire('biz', 'j1', biz(2), 60_000)).status).toBe('inflight');
    // The waiting line was lost with Redis: j3 is told `enqueued`, so its owner knows to wait again.
    expect((await a.acquire('biz', 'j3', biz(2), 60_000)).status).toBe('enqueued');
    expect((await a.release('biz', 'j1')).promoted).toHaveLength(1);
    // Leave no client of this file still reconnecting to the restarted server.
    await allConnected();
  });

  it('tells another limiter, on its own connections, about promotions through one subscriber connection', async () => {
    const prefix = freshPrefix();
    const admin = redis();
    const a = new RedisSlotLimiter({ redis: redis(), prefix });
    const b = new RedisSlotLimiter({ redis: redis(), prefix });
    const connections = async () =>
      String(await admin.client('LIST'))
        .trim()
        .split('\n').length;
    // Every client of the file connected (a's and b's too, and any still coming back from the
    // restart test): the count moves only with b's subscriber connection from here on.
    await allConnected();
    const before = await connections();

    const { listener, received, done } = countdown<{ key: string; promoted: string[] }>(20 * 50);
    // 50 distinct listeners (one function added 50 times would be one listener of a Set).
    const stops = Array.from({ length: 50 }, () => b.subscribe((signal) => listener(signal)));
    await b.whenSubscribed();
    expect(await connections()).toBe(before + 1);

    for (let i = 0; i < 20; i++) {
      await a.acquire(`biz-${i}`, 'holder', biz(1), 60_000);
      await b.acquire(`biz-${i}`, 'next', biz(1), 60_000);
      await a.release(`biz-${i}`, 'holder');
    }
    await done;
    expect(received).toHaveLength(20 * 50);
    expect(received.filter((s) => s.key === 'biz-7')).toHaveLength(50);
    expect(received[0]).toEqual({ key: 'biz-0', promoted: ['next'] });
    for (const stop of stops) stop();

    await b.close();
    // quit() resolves on the server's OK; the server drops the connection just after: no event
    // tells the test when, so it polls (under a hang guard).
    await eventually(connections, (n) => n === before);
  });

  it('uses a subscriber connection given by the host, and leaves it open', async () => {
    const prefix = freshPrefix();
    const subscriber = redis();
    const a = new RedisSlotLimiter({ redis: redis(), prefix });
    const b = new RedisSlotLimiter({ redis: redis(), prefix, subscriber });
    const signal = new Promise((resolve) => b.subscribe(resolve));
    await b.whenSubscribed();
    await a.acquire('biz', 'j1', biz(1), 60_000);
    await b.acquire('biz', 'j2', biz(1), 60_000);
    await a.release('biz', 'j1');
    expect(await signal).toEqual({ key: 'biz', promoted: ['j2'] });
    await b.close();
    expect(subscriber.status).toBe('ready');
    expect(await subscriber.ping()).toBe('PONG');
  });

  it('a release presenting a stale fence leaves the rebuilt state alone', async () => {
    const limiter = new RedisSlotLimiter({ redis: redis(), prefix: freshPrefix() });
    let fence = 0;
    limiter.setHolderSource(async () => ({
      ...holders(++fence, []),
      members: [{ business: 'biz', limit: null }],
    }));
    expect(await limiter.acquire('biz', 'j1', biz(1), 60_000)).toMatchObject({
      status: 'acquired',
      fence: 1,
    });
    await limiter.rebuild('biz', { ...holders(2, []), members: [{ business: 'biz', limit: null }] }, 60_000);
    // The job's feeder asks for it again under the new state and gets the slot ...
    expect(await limiter.acquire('biz', 'j1', biz(1), 60_000)).toMatchObject({
      status: 'acquired',
      fence: 2,
    });
    // ... so the old grant given back must not free it; a release without a fence does.
    expect(await limiter.release('biz', 'j1', 60_000, 1)).toMatchObject({ released: false, active: 1 });
    expect(await limiter.release('biz', 'j1', 60_000, 2)).toMatchObject({ released: true, active: 0 });
    await limiter.close();
  });

  it('two processes initialising one key: the newer read replaces the state, leaving no line beside a free slot', async () => {
    const prefix = freshPrefix();
    const a = new RedisSlotLimiter({ redis: redis(), prefix });
    const b = new RedisSlotLimiter({ redis: redis(), prefix });
    const read = (fence: number, jobs: string[], limit: number) => ({
      ...holders(
        fence,
        jobs.map((job): [string, string, string] => [job, 'r1', 'biz']),
      ),
      members: [{ business: 'biz', limit: null }],
      runs: [{ run: 'r1', business: 'biz', limit }],
    });
    b.setHolderSource(async () => read(1, ['h1'], 1));
    a.setHolderSource(async () => {
      // While a reads the database, b initialises the key from an older read and lines a job up.
      expect(await b.acquire('biz', 'w1', biz(1), 60_000)).toMatchObject({ status: 'enqueued', fence: 1 });
      // The run's limit was raised meanwhile: the newer read knows it.
      return read(2, [], 2);
    });
    expect(await a.acquire('biz', 'j1', biz(2), 60_000)).toMatchObject({
      status: 'acquired',
      active: 1,
      fence: 2,
    });
    // w1's line went with the old state (h1 was not a holder any more): asked again, it gets the
    // free slot instead of waiting for a promotion nobody would make.
    expect(await b.acquire('biz', 'w1', biz(2), 60_000)).toMatchObject({
      status: 'acquired',
      active: 2,
      fence: 2,
    });
    await Promise.all([a.close(), b.close()]);
  });

  it("tells its own listeners of its own jobs' promotions without publishing them", async () => {
    const prefix = freshPrefix();
    const a = new RedisSlotLimiter({ redis: redis(), prefix });
    const b = new RedisSlotLimiter({ redis: redis(), prefix });
    const heardByA: unknown[] = [];
    const heardByB: unknown[] = [];
    const heard = countdown<unknown>(5);
    a.subscribe((signal) => {
      heardByA.push(signal);
      heard.listener(signal);
    });
    b.subscribe((signal) => {
      heardByB.push(signal);
      heard.listener(signal);
    });
    const published: string[] = [];
    const spied = countdown<string>(2);
    const spy = redis();
    spy.on('message', (_channel: string, message: string) => {
      published.push(message);
      spied.listener(message);
    });
    await Promise.all([a.whenSubscribed(), b.whenSubscribed(), spy.subscribe(a.channel)]);
    await a.acquire('biz', 'j1', biz(1), 60_000);
    await a.acquire('biz', 'j2', biz(1), 60_000);
    await b.acquire('biz', 'j3', biz(1), 60_000);
    await b.release('biz', 'j1'); // promotes j2, asked for by a: published
    await a.release('biz', 'j2'); // promotes j3, asked for by b: published
    await b.release('biz', 'j3');
    await a.acquire('biz', 'j4', biz(1), 60_000);
    await a.acquire('biz', 'j5', biz(1), 60_000);
    await a.release('biz', 'j4'); // promotes j5, asked for by a itself: told in-process only
    // The spy hears the published ones on a connection of its own, perhaps after a and b did.
    await Promise.all([heard.done, spied.done]);
    // Published signals reach every instance; the in-process one only the instance that asked.
    expect(heardByA.map((s) => (s as { promoted: string[] }).promoted)).toEqual([['j2'], ['j3'], ['j5']]);
    expect(heardByB.map((s) => (s as { promoted: string[] }).promoted)).toEqual([['j2'], ['j3']]);
    expect(published.map((m) => JSON.parse(m).promoted)).toEqual([['j2'], ['j3']]);
    await Promise.all([a.close(), b.close()]);
  });

  it('publishes promotions made by an acquire or a change of limits to the instance that asked', async () => {
    const prefix = freshPrefix();
    const a = new RedisSlotLimiter({ redis: redis(), prefix });
    const b = new RedisSlotLimiter({ redis: redis(), prefix });
    const heardByB = countdown<unknown>(2);
    b.subscribe(heardByB.listener);
    const spied = countdown<string>(2);
    const spy = redis();
    spy.on('message', (_channel: string, message: string) => spied.listener(message));
    await Promise.all([b.whenSubscribed(), spy.subscribe(a.channel)]);
    await a.acquireMany('biz', ['a1', 'a2'], ask('r1', 2, 'biz'), 60_000);
    expect((await b.acquire('biz', 'b1', ask('r2', 2, 'biz'), 60_000)).status).toBe('enqueued');
    // a's new run raises the business's limit to 3: b1, which waited, takes the slot.
    expect((await a.acquire('biz', 'a3', ask('r3', 3, 'biz'), 60_000)).status).toBe('enqueued');
    expect((await b.acquire('biz', 'b2', ask('r2', 2, 'biz'), 60_000)).status).toBe('enqueued');
    // b2 (asked for by b) is published; a3 (asked for by a) is told to a's listeners only.
    const { promoted } = await a.setLimits('biz', { business: { id: 'biz', limit: 5 } });
    expect([...promoted].sort()).toEqual(['a3', 'b2']);
    expect(await heardByB.done).toEqual([
      { key: 'biz', promoted: ['b1'] },
      { key: 'biz', promoted: ['b2'] },
    ]);
    expect((await spied.done).map((m) => JSON.parse(m).promoted)).toEqual([['b1'], ['b2']]);
    await Promise.all([a.close(), b.close()]);
  });

  it('makes one script call (one round trip) per acquire and per release', async () => {
    const client = redis();
    const admin = redis();
    const limiter = new RedisSlotLimiter({ redis: client, prefix: freshPrefix() });
    // First use of a key initialises it (and loads the scripts): not what is measured.
    await limiter.acquire('biz', 'warm', biz(2), 60_000);
    await limiter.release('biz', 'warm');
    const scriptCalls = async () => {
      const info = await admin.info('commandstats');
      const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return calls('evalsha') + calls('eval');
    };
    await admin.config('RESETSTAT');
    await limiter.acquire('biz', 'j1', biz(2), 60_000);
    expect(await scriptCalls()).toBe(1);
    await admin.config('RESETSTAT');
    await limiter.release('biz', 'j1');
    expect(await scriptCalls()).toBe(1);
  });

  it('runs again after Redis lost its script cache', async () => {
    const client = redis();
    const limiter = new RedisSlotLimiter({ redis: client, prefix: freshPrefix() });
    await limiter.acquire('biz', 'j1', biz(1), 60_000);
    await client.script('FLUSH');
    expect((await limiter.acquire('biz', 'j2', biz(1), 60_000)).status).toBe('enqueued');
  });
});

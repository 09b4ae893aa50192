import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';

/** What `RedisSlotLimiter.checkEvictionPolicy` found on one Redis node. */
export interface NodeEvictionPolicy {
  /** The node as `host:port` (`default` for a single connection). */
  node: string;
  /** Its `maxmemory-policy`, or undefined when neither CONFIG nor INFO told it. */
  policy: string | undefined;
  /** Why the policy could not be read (CONFIG disabled or renamed, and INFO refused too). */
  error?: unknown;
}

/** A `maxmemory-policy` from a `CONFIG GET` reply (`[name, value]`, or `{ name: value }` on RESP3). */
function fromConfigReply(reply: unknown): string | undefined {
  if (Array.isArray(reply) && reply.length >= 2) return String(reply[1]);
  if (reply && typeof reply === 'object' && 'maxmemory-policy' in reply)
    return String((reply as Record<string, unknown>)['maxmemory-policy']);
  return undefined;
}

/** A `maxmemory_policy` from an `INFO memory` reply. */
function fromInfoReply(reply: unknown): string | undefined {
  const match = /^maxmemory_policy:(\S+)/m.exec(String(reply));
  return match?.[1];
}

/**
 * Reads one node's `maxmemory-policy`: `CONFIG GET` first; where CONFIG is disabled or renamed
 * (managed services often do both), the `maxmemory_policy` line of `INFO memory`.
 */
async function readPolicy(client: Redis | Cluster, node: string): Promise<NodeEvictionPolicy> {
  let configError: unknown;
  try {
    const policy = fromConfigReply(await client.call('CONFIG', 'GET', 'maxmemory-policy'));
    if (policy) return { node, policy };
  } catch (err) {
    configError = err;
  }
  try {
    const policy = fromInfoReply(await client.call('INFO', 'memory'));
    if (policy) return { node, policy };
  } catch (err) {
    return { node, policy: undefined, error: configError ?? err };
  }
  return { node, policy: undefined, error: configError };
}

/**
 * Reads the `maxmemory-policy` of the Redis behind `redis`: of each master of a Cluster (one
 * command each, once), or of the one server. A keyless command on a Cluster goes to any node:
 * it is sent first, so the cluster is connected and its masters known when they are asked.
 * @param redis - the limiter's connection
 * @returns one entry per node asked; never rejects
 */
export async function readEvictionPolicies(redis: Redis | Cluster): Promise<NodeEvictionPolicy[]> {
  if (!redis.isCluster) return [await readPolicy(redis, 'default')];
  const cluster = redis as Cluster;
  const first = await readPolicy(cluster, 'any');
  const masters = cluster.nodes('master');
  if (masters.length === 0) return [first];
  return Promise.all(masters.map((node) => readPolicy(node, `${node.options.host}:${node.options.port}`)));
}

/**
 * Reads the eviction policies (see {@link readEvictionPolicies}) and warns once through `logger`
 * (`OUTBOUND_REDIS_EVICTION_POLICY`) unless every node answers `noeviction`; a node that tells
 * neither by `CONFIG GET` nor by `INFO memory` is logged at debug level.
 * @param redis - the limiter's connection
 * @param logger - where the warning goes
 * @returns what each node answered; never rejects
 */
export async function warnUnlessNoEviction(
  redis: Redis | Cluster,
  logger: Logger,
): Promise<NodeEvictionPolicy[]> {
  const nodes = await readEvictionPolicies(redis);
  const unsafe = nodes.filter((n) => n.policy !== undefined && n.policy !== 'noeviction');
  const unknown = nodes.filter((n) => n.policy === undefined);
  if (unsafe.length > 0) {
    logger.warn(
      {
        policy: unsafe[0]?.policy,
        nodes: unsafe.map((n) => `${n.node}=${n.policy}`),
        expected: 'noeviction',
      },
      'OUTBOUND_REDIS_EVICTION_POLICY',
    );
  }
  if (unknown.length > 0) {
    logger.debug(
      { err: unknown[0]?.error, nodes: unknown.map((n) => n.node), policy: 'unknown' },
      'OUTBOUND_REDIS_EVICTION_POLICY',
    );
  }
  return nodes;
}

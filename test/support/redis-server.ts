import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureOutput, findRedisBinary, freePort, ProcessGuard, pollUntil, shellQuote } from './servers.js';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /**
   * Start a one-node Redis Cluster owning all 16384 slots, so that ioredis `Cluster` works against
   * it and Redis itself rejects scripts whose keys span slots (CROSSSLOT).
   */
  cluster?: boolean;
  /** More `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: readonly string[];
}

/** A running throwaway `redis-server`. */
export interface RedisServerHandle {
  /** The loopback port it listens on (kept across restarts). */
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Whether it runs in cluster mode. */
  cluster: boolean;
  /** Stops it and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops and starts it again on the same port. `empty: true` kills it like a crash and starts it
   * with no data (the "Redis restarted empty" case); otherwise it saves first and reloads its data.
   */
  restart(opts?: { empty?: boolean }): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

/**
 * Sends one command over a raw socket and returns the raw reply (simple, integer or bulk string).
 * A raw socket, not ioredis, so that a server that is still starting produces no client retries or logs.
 * @returns the reply text without its type marker
 */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (err: Error | undefined, value?: string) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.setTimeout(5_000, () => done(new Error(`redis ${args[0]} timed out`)));
    socket.on('error', (err) => done(err));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const eol = buffer.indexOf('\r\n');
      if (eol < 0) return;
      const head = buffer.slice(1, eol);
      if (buffer[0] === '-') return done(new Error(head));
      if (buffer[0] !== '$') return done(undefined, head);
      const length = Number(head);
      if (length < 0) return done(undefined, '');
      // Replies we read are ASCII, so string and byte offsets agree.
      if (buffer.length >= eol + 2 + length + 2) done(undefined, buffer.slice(eol + 2, eol + 2 + length));
    });
    const body = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
    socket.write(`*${args.length}\r\n${body}`);
  });
}

interface Running {
  child: ChildProcess;
  guard: ProcessGuard;
  exited: Promise<void>;
}

async function launch(
  binary: string,
  dir: string,
  port: number,
  cluster: boolean,
  extra: readonly string[],
): Promise<Running> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  args.push('--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning');
  if (cluster) {
    // A short node timeout shortens the delay before a (re)started master declares the cluster ok;
    // a lone node knows no IP of its own, so it must announce one or CLUSTER SLOTS names no host.
    const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
    args.push(...clusterArgs, '--cluster-node-timeout', '500', '--cluster-announce-ip', '127.0.0.1');
  }
  args.push(...extra);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const guard = new ProcessGuard(`kill -KILL ${child.pid} 2>/dev/null; rm -rf ${shellQuote(dir)}`, () =>
    child.kill('SIGKILL'),
  );
  const ping = async () => gone || (await redisCommand(port, 'PING').catch(() => '')) === 'PONG';
  if (!(await pollUntil(ping, START_TIMEOUT_MS)) || gone) {
    child.kill('SIGKILL');
    guard.release();
    throw new Error(`redis-server did not start on port ${port}: ${output()}`);
  }
  if (cluster) {
    // A fresh node owns no slots; give it all of them so it serves every key alone.
    const info = () => redisCommand(port, 'CLUSTER', 'INFO').catch(() => '');
    if (!(await info()).includes('cluster_slots_assigned:16384')) {
      await redisCommand(port, 'CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    }
    if (!(await pollUntil(async () => (await info()).includes('cluster_state:ok'), START_TIMEOUT_MS))) {
      throw new Error(`redis cluster on port ${port} did not reach cluster_state:ok`);
    }
  }
  return { child, guard, exited };
}

async function launchWithRetry(
  binary: string,
  dir: string,
  port: number | undefined,
  cluster: boolean,
  extra: readonly string[] = [],
) {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const chosen = port ?? (await freePort());
    try {
      return { port: chosen, running: await launch(binary, dir, chosen, cluster, extra) };
    } catch (err) {
      // Another process took the free port, or the old one is not released yet on restart.
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
  }
  throw lastError;
}

async function kill(running: Running, signal: NodeJS.Signals): Promise<void> {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
  await running.exited;
  running.guard.release();
}

/**
 * Starts a throwaway `redis-server` from PATH on a free loopback port, with a temp dir and no
 * persistence (`--save '' --appendonly no`). It is killed when this process exits, however it exits.
 * @param opts - cluster mode, extra server arguments
 * @returns a handle to stop or restart it
 * @throws Error when redis-server is missing or does not answer PING in time
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = findRedisBinary();
  if (!binary) throw new Error('redis-server not found on PATH');
  const cluster = opts.cluster ?? false;
  const dir = mkdtempSync(join(tmpdir(), 'oq-redis-'));
  const extra = opts.args ?? [];
  const first = await launchWithRetry(binary, dir, undefined, cluster, extra);
  let running: Running | undefined = first.running;
  const port = first.port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cluster,
    async stop() {
      if (!running) return;
      const current = running;
      running = undefined;
      await kill(current, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ empty = false } = {}) {
      if (!running) throw new Error('redis-server was stopped');
      const current = running;
      running = undefined;
      if (empty) {
        // Like a crash: no chance to save anything.
        await kill(current, 'SIGKILL');
        rmSync(join(dir, 'dump.rdb'), { force: true });
        rmSync(join(dir, 'nodes.conf'), { force: true });
      } else {
        await redisCommand(port, 'SAVE');
        await kill(current, 'SIGTERM');
      }
      running = (await launchWithRetry(binary, dir, port, cluster, extra)).running;
    },
  };
}

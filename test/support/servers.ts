import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The throwaway servers that real-server suites need. */
export type ServerName = 'redis' | 'postgres';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/**
 * Where `redis-server` is: `$REDIS_SERVER` when set, else the first one on PATH.
 * @returns the binary's path, or undefined when Redis is not installed
 */
export function findRedisBinary(): string | undefined {
  const explicit = process.env.REDIS_SERVER;
  if (explicit) return isExecutable(explicit) ? explicit : undefined;
  return onPath('redis-server');
}

/**
 * The directory holding `initdb` and `postgres`: `$POSTGRES_BIN` when set, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout, which keeps them off PATH), else PATH.
 * @returns the directory, or undefined when PostgreSQL is not installed
 */
export function findPostgresBin(): string | undefined {
  const complete = (dir: string) => isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'));
  const explicit = process.env.POSTGRES_BIN;
  if (explicit) return complete(explicit) ? explicit : undefined;
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // Not Debian's layout; PATH below is the only other place we look.
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (complete(dir)) return dir;
  }
  const initdb = onPath('initdb');
  if (initdb) {
    const dir = initdb.slice(0, -'/initdb'.length);
    if (complete(dir)) return dir;
  }
  return undefined;
}

/**
 * Whether the suites that need `name` can run. A missing server is loud when running locally
 * (the suites are skipped with a banner) and an error in CI (`CI=true`), where a skipped suite
 * would hide a gap in coverage.
 * @param name - the server the suite needs
 * @returns true when the server's binaries were found
 * @throws Error in CI when the server is missing
 */
export function requireServer(name: ServerName): boolean {
  const found = name === 'redis' ? findRedisBinary() : findPostgresBin();
  if (found) return true;
  const what =
    name === 'redis'
      ? 'redis-server not found on PATH (or $REDIS_SERVER)'
      : 'PostgreSQL not found (initdb/postgres)';
  if (process.env.CI === 'true')
    throw new Error(`CI=true and ${what}: real-server suites cannot be skipped in CI`);
  const line = '!'.repeat(78);
  console.warn(`\n${line}\n!! SKIPPING ${name} suites: ${what}\n${line}\n`);
  return false;
}

/**
 * A free TCP port on the loopback interface. Another process may take it before we bind it; the
 * server starters retry on a bind failure.
 * @returns the port
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes.
 * @returns true when `check` succeeded in time
 */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = false;
  for (;;) {
    if (await check()) return true;
    if (last) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    // Past the deadline, check once more after the I/O a stalled process had pending: after a
    // stall, timers run before the replies and events that arrived meanwhile are read.
    if (Date.now() > deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      last = true;
    }
  }
}

/**
 * Guards a child server against being left behind by this test process.
 *
 * Two layers, because vitest's forks pool may end a worker without running `exit` handlers
 * (SIGKILL, or SIGTERM whose default action skips them): an `exit` handler signals the server at
 * once on a normal exit, and a detached shell watchdog polls this process's pid and, once it is
 * gone, runs `onOrphaned` (kill the server, remove its temp dir) whatever the way we died.
 */
export class ProcessGuard {
  private readonly watchdog: ChildProcess;
  private readonly onExit: () => void;
  private released = false;

  /**
   * @param onOrphaned - shell commands that clean up once this process is gone
   * @param onExit - synchronous clean-up for a normal exit of this process
   */
  constructor(onOrphaned: string, onExit: () => void) {
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; ${onOrphaned}`;
    this.watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    this.watchdog.unref();
    this.onExit = () => {
      try {
        onExit();
      } catch {
        // The process is exiting; the watchdog is the second chance.
      }
    };
    process.once('exit', this.onExit);
  }

  /** The server was stopped properly: drop both layers. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    if (this.watchdog.pid !== undefined && isAlive(this.watchdog.pid)) this.watchdog.kill('SIGKILL');
  }
}

/**
 * Quotes a value for a POSIX shell command line.
 * @returns the quoted value
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Uid and gid of a system user (for chown), via `id`.
 * @returns the ids
 */
export function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * Keeps the last lines a child wrote, to explain why it failed to start.
 * @returns a function that returns the captured output
 */
export function captureOutput(child: ChildProcess): () => string {
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  captureOutput,
  findPostgresBin,
  freePort,
  isAlive,
  ProcessGuard,
  pollUntil,
  shellQuote,
  userIds,
} from './servers.js';

/** A running throwaway PostgreSQL server (trust authentication, user `postgres`). */
export interface PostgresServerHandle {
  /** The loopback port it listens on. */
  port: number;
  /** Connection string of its `postgres` database. */
  connectionString: string;
  /** Stops it (fast shutdown) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Creates a database, so that suites do not share tables.
   * @param name - a plain identifier (letters, digits, underscore)
   * @returns the new database's connection string
   */
  createDatabase(name: string): Promise<string>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
// PostgreSQL refuses to run as root; as root we run its binaries as this user.
const PG_USER = 'postgres';

const connectionString = (port: number, db: string) => `postgresql://postgres@127.0.0.1:${port}/${db}`;

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a binary as the postgres user when we are root (runuser), directly otherwise. */
function asPgUser(binary: string, args: string[]): [string, string[]] {
  const root = process.getuid?.() === 0;
  return root ? ['runuser', ['-u', PG_USER, '--', binary, ...args]] : [binary, args];
}

async function canConnect(port: number): Promise<boolean> {
  const client = new pg.Client({
    connectionString: connectionString(port, 'postgres'),
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts a throwaway PostgreSQL (initdb in a temp dir, durability off for speed) on a free
 * loopback port. As root, initdb and postgres run as the `postgres` user. The server is stopped
 * when this process exits, however it exits.
 * @returns a handle to create databases and stop it
 * @throws Error when PostgreSQL is missing or does not accept connections in time
 */
export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL binaries (initdb, postgres) not found');
  const root = mkdtempSync(join(tmpdir(), 'oq-pg-'));
  const dataDir = join(root, 'data');
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds(PG_USER);
    chownSync(root, uid, gid);
  }
  chmodSync(root, 0o700);
  try {
    const [cmd, args] = asPgUser(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', PG_USER]);
    execFileSync(cmd, [...args, '--no-sync', '-E', 'UTF8', '--locale=C'], { stdio: 'pipe' });
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed: ${stderr || String(err)}`);
  }

  let child: ChildProcess | undefined;
  let guard: ProcessGuard | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const settings = [
      'listen_addresses=127.0.0.1',
      'fsync=off',
      'synchronous_commit=off',
      'full_page_writes=off',
    ];
    const [cmd, args] = asPgUser(join(bin, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      root,
      ...settings.flatMap((s) => ['-c', s]),
    ]);
    const started = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = captureOutput(started);
    let gone = false;
    started.once('exit', () => {
      gone = true;
    });
    // runuser does not pass signals on: the postmaster is reached through its pid file.
    const stopPostmaster = `pm=$(head -n1 ${shellQuote(join(dataDir, 'postmaster.pid'))} 2>/dev/null)`;
    const orphaned = `${stopPostmaster}; [ -n "$pm" ] && kill -INT $pm 2>/dev/null; i=0; while [ -n "$pm" ] && kill -0 $pm 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; [ -n "$pm" ] && kill -KILL $pm 2>/dev/null; rm -rf ${shellQuote(root)}`;
    const attemptGuard = new ProcessGuard(orphaned, () => {
      const pid = postmasterPid(dataDir);
      // Immediate shutdown: an exiting process cannot wait for a fast one; the watchdog cleans up.
      if (pid !== undefined) process.kill(pid, 'SIGQUIT');
    });
    const ready = await pollUntil(async () => gone || (await canConnect(port)), START_TIMEOUT_MS, 50);
    if (ready && !gone) {
      child = started;
      guard = attemptGuard;
      break;
    }
    const pid = postmasterPid(dataDir);
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    started.kill('SIGKILL');
    attemptGuard.release();
    // A port taken by someone else makes the postmaster exit at once: try another one.
    if (!output().includes('could not bind') && !output().includes('could not create listen socket')) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`postgres did not start: ${output()}`);
    }
  }
  if (!child || !guard) {
    rmSync(root, { recursive: true, force: true });
    throw new Error('postgres could not find a free port');
  }

  const runner = child;
  const runnerGuard = guard;
  const exited = new Promise<void>((resolve) => {
    if (runner.exitCode !== null || runner.signalCode !== null) resolve();
    else runner.once('exit', () => resolve());
  });
  let stopped = false;
  return {
    port,
    connectionString: connectionString(port, 'postgres'),
    async stop() {
      if (stopped) return;
      stopped = true;
      const pid = postmasterPid(dataDir);
      if (pid !== undefined && isAlive(pid)) {
        process.kill(pid, 'SIGINT');
        if (!(await pollUntil(() => !isAlive(pid), STOP_TIMEOUT_MS, 50))) process.kill(pid, 'SIGKILL');
      }
      await exited;
      runnerGuard.release();
      rmSync(root, { recursive: true, force: true });
    },
    async createDatabase(name: string) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const client = new pg.Client({ connectionString: connectionString(port, 'postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return connectionString(port, name);
    },
  };
}

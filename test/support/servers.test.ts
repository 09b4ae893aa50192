import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgresServer } from './postgres-server.js';
import { redisCommand, startRedisServer } from './redis-server.js';
import { isAlive, pollUntil, requireServer } from './servers.js';

describe.skipIf(!requireServer('redis'))('throwaway redis-server', () => {
  it('starts, answers, restarts empty or with its data, and stops', async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url, { lazyConnect: true });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      await redis.set('kept', '1');

      await server.restart();
      expect(await redis.get('kept')).toBe('1');

      await server.restart({ empty: true });
      expect(await redis.get('kept')).toBeNull();
      expect(await redis.dbsize()).toBe(0);
    } finally {
      redis.disconnect();
      await server.stop();
    }
    await expect(redisCommand(server.port, 'PING')).rejects.toThrow();
    await server.stop();
  });

  it('is killed when the test process dies abruptly (SIGKILL, no exit handlers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oq-orphan-'));
    const helper = fileURLToPath(new URL('./redis-server.ts', import.meta.url));
    const script = join(dir, 'orphan.mts');
    writeFileSync(
      script,
      `import { startRedisServer } from ${JSON.stringify(helper)};\n` +
        'const server = await startRedisServer();\n' +
        'console.log(String(server.port));\n' +
        'setInterval(() => {}, 1000);\n',
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        child.once('exit', (code) => reject(new Error(`helper process exited early (${code})`)));
      });
      expect(await redisCommand(port, 'PING')).toBe('PONG');
      child.kill('SIGKILL');
      const gone = await pollUntil(
        async () => (await redisCommand(port, 'PING').catch(() => 'gone')) === 'gone',
        10_000,
        100,
      );
      expect(gone).toBe(true);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts a one-node cluster that owns every slot', async () => {
    const server = await startRedisServer({ cluster: true });
    try {
      expect(await redisCommand(server.port, 'CLUSTER', 'INFO')).toContain('cluster_state:ok');
      await server.restart({ empty: true });
      expect(await redisCommand(server.port, 'CLUSTER', 'INFO')).toContain('cluster_state:ok');
    } finally {
      await server.stop();
    }
  });
});

describe.skipIf(!requireServer('postgres'))('throwaway PostgreSQL', () => {
  let stopLater: (() => Promise<void>) | undefined;
  afterAll(async () => stopLater?.());

  it('starts, creates a database, and stops', async () => {
    const server = await startPostgresServer();
    stopLater = server.stop;
    const url = await server.createDatabase('oq_support_test');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
      expect(rows[0]?.db).toBe('oq_support_test');
    } finally {
      await client.end();
    }
    const pidBefore = await pgBackendPostmaster(server.connectionString);
    await server.stop();
    expect(isAlive(pidBefore)).toBe(false);
  });
});

/** The postmaster's pid, read through SQL so the test does not trust the helper's own bookkeeping. */
async function pgBackendPostmaster(connectionString: string): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: string }>(
      "SELECT (regexp_match(pg_read_file('postmaster.pid'), '^[0-9]+'))[1] AS pid",
    );
    return Number(rows[0]?.pid);
  } finally {
    await client.end();
  }
}

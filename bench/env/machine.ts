import os from 'node:os';
import pg from 'pg';
import type { RedisProbe } from '../measure/redis-stats.js';
import type { BenchServers } from './servers.js';

/** The machine and server versions a result was measured on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  redis: string;
  postgres: string;
}

/**
 * Describes this machine and the throwaway servers.
 * @param servers - the running servers, asked for their versions
 * @param probe - the bench's Redis connection
 * @returns the description written into the results
 */
export async function machineInfo(servers: BenchServers, probe: RedisProbe): Promise<MachineInfo> {
  const client = new pg.Client({ connectionString: servers.postgres.connectionString });
  await client.connect();
  let postgres = 'unknown';
  try {
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    postgres = result.rows[0]?.server_version ?? postgres;
  } finally {
    await client.end();
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: (await probe.serverField('redis_version')) ?? 'unknown',
    postgres,
  };
}

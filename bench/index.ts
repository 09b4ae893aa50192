/**
 * `npm run bench [-- --quick]`: this library against bottleneck and BullMQ on the same workloads,
 * on a throwaway redis-server and PostgreSQL. Prints one table and writes bench/results/latest.json
 * (SPEC §4). See docs/performance.md for what each figure means and how it is measured.
 *
 * Flags: `--quick` (everything, shorter runs: under 2 minutes), `--out <path>` (results file).
 */
import { fileURLToPath } from 'node:url';
import { benchConfig } from './config.js';
import { machineInfo } from './env/machine.js';
import { startBenchServers } from './env/servers.js';
import { installCommandCounter, nameScripts } from './measure/redis-commands.js';
import { RedisProbe } from './measure/redis-stats.js';
import { BottleneckPeer } from './peers/bottleneck-peer.js';
import { BullmqPeer } from './peers/bullmq-peer.js';
import { OutboundQueuePeer } from './peers/outbound-queue-peer.js';
import type { Peer, PeerEnv } from './peers/peer.js';
import { type BenchResults, type RowDetail, writeResults } from './report.js';
import { formatReport } from './report-format.js';
import { compareSystems } from './workloads/compare.js';
import { measureEvalCeiling } from './workloads/eval-ceiling.js';
import { measureIdle } from './workloads/idle.js';
import { measureStartRun } from './workloads/start-run.js';

const DEFAULT_OUT = fileURLToPath(new URL('./results/latest.json', import.meta.url));

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const out = option('--out') ?? DEFAULT_OUT;
  const config = benchConfig(quick);
  const startedAt = performance.now();
  const step = (what: string) =>
    console.error(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${what}`);
  installCommandCounter();
  nameScripts(fileURLToPath(new URL('../src/limiter/redis/scripts/', import.meta.url)));
  step('starting redis-server and PostgreSQL');
  const servers = await startBenchServers();
  const probe = await RedisProbe.open(servers.redis.port);
  try {
    const env: PeerEnv = {
      redisUrl: servers.redis.url,
      probe,
      newPostgresDatabase: () => servers.newPostgresDatabase(),
    };
    const machine = await machineInfo(servers, probe);
    step('Redis EVAL ceiling');
    const ceiling = await measureEvalCeiling(
      servers.redis.port,
      servers.redis.url,
      config.evalRequests,
      config.evalRuns,
    );
    const sqlite = new OutboundQueuePeer('sqlite');
    const peers: Peer[] = [sqlite, new OutboundQueuePeer('postgres'), new BottleneckPeer(), new BullmqPeer()];
    const details: RowDetail[] = [];
    for (const spec of config.dispatch) {
      step(spec.name);
      details.push(...(await compareSystems(spec, peers, config.repetitions, env, config.passTimeoutMs)));
    }
    step(config.tenants.name);
    const tenantPeers = [sqlite, new BottleneckPeer(), new BullmqPeer()];
    details.push(...(await compareSystems(config.tenants, tenantPeers, 1, env, config.tenantsTimeoutMs)));
    step('startRun in child processes');
    const startRun = await measureStartRun(config.startRunSizes);
    step('idle process');
    const idle = await measureIdle(probe, servers.redis.url, config.idleWindowMs);
    const results: BenchResults = {
      machine,
      rows: details.map((d) => d.row),
      startRun: startRun.map(({ leads, seconds, peakRssMb }) => ({
        leads,
        seconds: Math.round(seconds * 1000) / 1000,
        peakRssMb: Math.round(peakRssMb * 10) / 10,
      })),
      idleRedisCmdsPerSec: Math.round(idle.commandsPerSecond * 100) / 100,
      redisEvalCeilingPerSec: Math.round(ceiling.perSecond),
    };
    writeResults(out, results);
    step(`done; wrote ${out}`);
    const [throughput, , handoff, grouped] = config.dispatch;
    console.log(
      formatReport(results, details, {
        mode: config.mode,
        command: `npm run bench${quick ? ' -- --quick' : ''}`,
        evalMethod: ceiling.method,
        idleWindowSeconds: Math.round(idle.seconds),
        startRun,
        throughputWorkload: throughput?.name ?? '',
        handoffWorkload: handoff?.name ?? '',
        groupHandoffWorkload: grouped?.name ?? '',
        tenantsWorkload: config.tenants.name,
        tenants: config.tenants.businesses,
      }),
    );
  } finally {
    probe.close();
    await servers.stop();
  }
}

main().then(
  // Peers' clients may keep timers alive; everything worth keeping is written by now.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

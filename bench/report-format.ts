import type { BenchResults, ResultRow, RowDetail } from './report.js';
import type { StartRunChildResult } from './workloads/start-run-child.js';

/** Facts printed beside the results that the JSON's fixed shape has no place for. */
export interface ReportExtras {
  mode: string;
  command: string;
  evalMethod: string;
  idleWindowSeconds: number;
  startRun: StartRunChildResult[];
  /** The workload whose rows the throughput and per-call targets are read from. */
  throughputWorkload: string;
  /** The workload whose rows the hand-off targets are read from. */
  handoffWorkload: string;
  /** The same with an account group limit on (issue 13). */
  groupHandoffWorkload: string;
  tenantsWorkload: string;
  /** Businesses in the tenant-scale workload. */
  tenants: number;
}

const num = (n: number | null, digits = 0) =>
  n === null
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(headers: string[], lines: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [fmt(headers), rule, ...lines.map(fmt)].join('\n');
}

function who(detail: RowDetail): string {
  return detail.row.system === 'outbound-queue' ? `outbound-queue (${detail.backend})` : detail.row.system;
}

/**
 * The one results table (Markdown, so that docs/performance.md can show it as printed).
 * @returns the table
 */
export function formatTable(details: RowDetail[]): string {
  const headers = [
    'workload',
    'system',
    'calls/s',
    'hand-off p50 ms',
    'p99 ms',
    'Redis cmds/call*',
    'SQL/call*',
  ];
  const lines = details.map((d) => [
    d.row.workload,
    who(d),
    num(d.row.callsPerSec),
    num(d.row.handoffP50Ms, 2),
    num(d.row.handoffP99Ms, 2),
    num(d.row.redisCmdsPerCall, 2),
    num(d.row.sqlPerCall, 2),
  ]);
  return table(headers, lines);
}

function find(
  details: RowDetail[],
  workload: string,
  system: string,
  backend?: string,
): ResultRow | undefined {
  return details.find(
    (d) => d.row.workload === workload && d.row.system === system && (!backend || d.backend === backend),
  )?.row;
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a ' : ok ? 'PASS' : 'MISS';
}

/**
 * Each SPEC §4 target with the measured figure and PASS / MISS.
 * @returns one line per target
 */
export function formatTargets(results: BenchResults, details: RowDetail[], extras: ReportExtras): string[] {
  const sqlite = 'Redis + SQLite';
  const light = find(details, extras.handoffWorkload, 'outbound-queue', sqlite);
  const grouped = find(details, extras.groupHandoffWorkload, 'outbound-queue', sqlite);
  const tp = find(details, extras.throughputWorkload, 'outbound-queue', sqlite);
  const tpPg = find(details, extras.throughputWorkload, 'outbound-queue', 'Redis + PostgreSQL');
  const peers = ['bottleneck', 'bullmq'].map(
    (s) => find(details, extras.throughputWorkload, s)?.callsPerSec ?? 0,
  );
  const best = Math.max(...peers);
  const ceiling = results.redisEvalCeilingPerSec;
  const floor = ceiling === null ? null : ceiling / 2 / 3;
  const big = results.startRun.find((r) => r.leads === 100_000);
  const small = results.startRun.find((r) => r.leads === 10_000);
  const tenants = find(details, extras.tenantsWorkload, 'outbound-queue', sqlite);
  const tenantConns = Number(/(\d+) Redis connections/.exec(tenants?.notes ?? '')?.[1] ?? Number.NaN);
  const lines: Array<[boolean | undefined, string]> = [
    [
      light?.handoffP50Ms == null ? undefined : light.handoffP50Ms <= 1,
      `hand-off p50 ≤ 1 ms (Redis + SQLite, light load): ${num(light?.handoffP50Ms ?? null, 2)} ms`,
    ],
    [
      grouped?.handoffP50Ms == null ? undefined : grouped.handoffP50Ms <= 1,
      `hand-off p50 ≤ 1 ms with a group limit on (Redis + SQLite, light load): ${num(grouped?.handoffP50Ms ?? null, 2)} ms`,
    ],
    [
      light?.handoffP99Ms == null ? undefined : light.handoffP99Ms <= 5,
      `hand-off p99 ≤ 5 ms (Redis + SQLite, light load): ${num(light?.handoffP99Ms ?? null, 2)} ms`,
    ],
    [
      tp?.redisCmdsPerCall == null ? undefined : tp.redisCmdsPerCall <= 2.05,
      `2 Redis round trips per call: ${num(tp?.redisCmdsPerCall ?? null, 2)}`,
    ],
    [
      tp?.sqlPerCall == null ? undefined : tp.sqlPerCall <= 3,
      `≤ 3 SQL statements per call: ${num(tp?.sqlPerCall ?? null, 2)} (SQLite), ${num(tpPg?.sqlPerCall ?? null, 2)} (PostgreSQL)`,
    ],
    [
      tp?.callsPerSec == null || floor === null ? undefined : tp.callsPerSec >= floor,
      `throughput within 3× of the EVAL ceiling (${num(ceiling)} EVAL/s ÷ 2 per call ÷ 3 = ${num(floor)} calls/s): ${num(tp?.callsPerSec ?? null)} (SQLite), ${num(tpPg?.callsPerSec ?? null)} (PostgreSQL)`,
    ],
    [
      tp?.callsPerSec == null ? undefined : tp.callsPerSec > best && (tpPg?.callsPerSec ?? 0) > best,
      `ahead of both peers (best peer ${num(best)} calls/s): ${num(tp?.callsPerSec ?? null)} (SQLite), ${num(tpPg?.callsPerSec ?? null)} (PostgreSQL)`,
    ],
    [
      big ? big.seconds <= 3 : undefined,
      `100k-lead startRun ≤ 3 s on SQLite: ${num(big?.seconds ?? null, 2)} s`,
    ],
    [
      big && small ? big.peakRssMb <= small.peakRssMb * 1.5 : undefined,
      `peak RSS flat in run size (100k ≤ 1.5 × 10k): ${num(small?.peakRssMb ?? null)} MB → ${num(big?.peakRssMb ?? null)} MB`,
    ],
    [
      results.idleRedisCmdsPerSec === null ? undefined : results.idleRedisCmdsPerSec <= 1,
      `idle process ≤ 1 Redis command/s: ${num(results.idleRedisCmdsPerSec, 2)}/s`,
    ],
    [
      Number.isNaN(tenantConns) ? undefined : tenantConns <= 4,
      `${num(extras.tenants)} tenants through ≤ 4 Redis connections: ${Number.isNaN(tenantConns) ? 'n/a' : tenantConns}`,
    ],
  ];
  return lines.map(([ok, text]) => `${verdict(ok)}  ${text}`);
}

/**
 * Everything printed at the end of a run: the table, startRun, idle, the ceiling, targets, notes
 * and per-call breakdowns.
 * @returns the report text
 */
export function formatReport(results: BenchResults, details: RowDetail[], extras: ReportExtras): string {
  const m = results.machine;
  const out = [
    `outbound-queue bench (${extras.mode}): ${extras.command}`,
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres}`,
    '',
    formatTable(details),
    '* steady state: counted between the 25th and the 75th percent of calls ended (see notes for whole runs)',
    '',
    ...extras.startRun.map(
      (r) =>
        `startRun ${num(r.leads)} leads (SQLite file): ${num(r.seconds, 2)} s, peak RSS ${num(r.peakRssMb)} MB ` +
        `(${num(r.rssBeforeMb)} MB before startRun, with the leads array built), ${r.sqlStatements} SQL statements`,
    ),
    `idle OutboundQueue (started, no runs): ${num(results.idleRedisCmdsPerSec, 2)} Redis commands/s over ${extras.idleWindowSeconds} s`,
    `Redis EVAL ceiling: ${num(results.redisEvalCeilingPerSec)} EVAL/s (${extras.evalMethod})`,
    '',
    'Targets (SPEC §4):',
    ...formatTargets(results, details, extras).map((l) => `  ${l}`),
    '',
    'Notes:',
    ...details.map((d) => `  ${d.row.workload} / ${who(d)}: ${d.row.notes}`),
    '',
    'Per call, by kind (client-sent Redis commands; SQL statements):',
  ];
  for (const d of details) {
    if (d.commands.length === 0 && d.statements.length === 0) continue;
    const cmds = d.commands.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ');
    out.push(`  ${d.row.workload} / ${who(d)}: Redis ${cmds || 'none'}`);
    for (const [label, n] of d.statements.slice(0, 6)) out.push(`      ${n.toFixed(3)}  ${label}`);
  }
  return out.join('\n');
}

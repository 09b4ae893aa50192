import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** The rate of one-round-trip Lua calls the Redis server sustains on this machine. */
export interface EvalCeiling {
  perSecond: number;
  /** How it was measured. */
  method: string;
}

/** A script of the size of ours: reads and writes a few keys, returns a small array. */
const SCRIPT = "redis.call('HSET', KEYS[1], 'n', ARGV[1]); return {redis.call('ZCARD', KEYS[2]), 1}";

/**
 * `redis-benchmark -q -n <requests> EVAL ...` against the throwaway server: 50 clients, one
 * command per round trip, the physical ceiling of "one Redis round trip per operation" here.
 * Without redis-benchmark, a pipelined EVAL loop through ioredis stands in (said in `method`).
 * @param port - the Redis server's port
 * @param url - its URL
 * @param requests - EVAL calls to time per run
 * @param runs - runs of redis-benchmark; the median rate is reported (it varies a lot on 2 cores)
 * @returns the rate
 */
export async function measureEvalCeiling(
  port: number,
  url: string,
  requests: number,
  runs: number,
): Promise<EvalCeiling> {
  const rates: EvalCeiling[] = [];
  for (let i = 0; i < runs; i++) rates.push(await measureOnce(port, url, requests));
  rates.sort((a, b) => a.perSecond - b.perSecond);
  const median = rates[Math.floor(rates.length / 2)] ?? { perSecond: 0, method: 'not measured' };
  const all = rates.map((r) => Math.round(r.perSecond).toLocaleString('en-US')).join(', ');
  return runs > 1 ? { ...median, method: `${median.method}; median of ${runs}: ${all}` } : median;
}

async function measureOnce(port: number, url: string, requests: number): Promise<EvalCeiling> {
  try {
    const { stdout } = await run(
      'redis-benchmark',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-q',
        '-n',
        String(requests),
        'EVAL',
        SCRIPT,
        '2',
        'oq:{c}:m',
        'oq:{c}:z',
        '1',
      ],
      { timeout: 120_000 },
    );
    const rate = /([\d.]+) requests per second/.exec(stdout);
    if (rate) {
      return {
        perSecond: Number(rate[1]),
        method: `redis-benchmark -q -n ${requests} EVAL (50 clients, no pipelining)`,
      };
    }
  } catch {
    // Not installed (redis-tools): fall back below.
  }
  const redis = new Redis(url);
  try {
    const started = performance.now();
    for (let done = 0; done < requests; done += 1000) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.eval(SCRIPT, 2, 'oq:{c}:m', 'oq:{c}:z', '1');
      await pipeline.exec();
    }
    const perSecond = requests / ((performance.now() - started) / 1000);
    return { perSecond, method: 'redis-benchmark missing: ioredis EVAL loop, pipelines of 1,000' };
  } finally {
    redis.disconnect();
  }
}

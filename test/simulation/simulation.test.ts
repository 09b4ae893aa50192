import { describe, expect, it } from 'vitest';
import { type FaultFlags, parseFaults } from './faults.js';
import { simulate } from './simulation.js';

/** Runs `count` seeds from `from` and gathers every violation with the seed that broke it. */
async function sweep(flags: FaultFlags, from: number, count: number) {
  const broken: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const { violations } = await simulate({ seed, flags });
    for (const v of violations) broken.push(`seed ${seed} [${v.checker}] ${v.message}`);
  }
  return broken;
}

// Every class the engine passes alone; the crash runs without store outages and ambiguous writes,
// whose combination with a crash still fails a few seeds (see faults.ts KNOWN_FAILING).
const ONE_PROCESS = parseFaults('passing,-crash');
const TWO_PROCESSES = parseFaults('passing,-storeOutages,-ambiguousWrites');

describe('deterministic fault simulation (issue 11)', () => {
  it('keeps every guarantee on 120 seeded schedules, one process, every passing fault class', async () => {
    expect(await sweep(ONE_PROCESS, 1, 120)).toEqual([]);
  });

  it('keeps every guarantee on 60 seeded schedules where a second process takes over after a crash', async () => {
    expect(await sweep(TWO_PROCESSES, 10_001, 60)).toEqual([]);
  });

  it('replays a seed exactly: the same seed gives the same trace, another seed another', async () => {
    const flags = parseFaults('all');
    const first = await simulate({ seed: 42, flags });
    const again = await simulate({ seed: 42, flags });
    const other = await simulate({ seed: 43, flags });
    expect(first.trace.length).toBeGreaterThan(10);
    expect(again.traceHash).toBe(first.traceHash);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('can fail: a limiter that grants one slot too many is caught', async () => {
    const flags = parseFaults('none');
    const caught = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) {
      const { violations } = await simulate({ seed, flags, overGrant: 1 });
      for (const v of violations) caught.add(v.checker);
    }
    expect(caught).toContain('concurrency');
  });
});

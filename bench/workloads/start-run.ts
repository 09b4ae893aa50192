import { fileURLToPath } from 'node:url';
import { runInChild } from '../measure/child-process.js';
import type { StartRunChildResult } from './start-run-child.js';

const CHILD = fileURLToPath(new URL('./start-run-child.ts', import.meta.url));

/**
 * `startRun` of each size in a fresh child process (SQLite file, queue not started): seconds
 * spent in `startRun` and the child's peak RSS, to show that memory does not grow with the run.
 * @param sizes - lead counts, e.g. 10,000 and 100,000
 * @returns one result per size
 */
export async function measureStartRun(sizes: readonly number[]): Promise<StartRunChildResult[]> {
  const results: StartRunChildResult[] = [];
  for (const leads of sizes) {
    results.push(await runInChild<StartRunChildResult>(CHILD, [String(leads)], 300_000));
  }
  return results;
}

/**
 * Deterministic seeded fault simulation of the engine (issue 11): seed in, verdict and a one-line
 * replay command out.
 *
 *   npm run simulate -- --seeds 10000                 # seeds 1..10000, the classes the engine passes
 *   npm run simulate -- --seeds 2000 --faults all     # every fault class, known failures included
 *   npm run simulate -- --seed 1234 --verbose         # replay one schedule with its trace
 *
 * Options: --seeds N (count), --from N (first seed, default 1), --seed N (one seed),
 * --faults LIST (comma-separated classes, `all`, `passing` (default), `none`, `-name` to drop one),
 * --verbose (print the trace), --max-failures N (stop after N failing seeds, default 20).
 */
import { FAULT_NAMES, faultList, KNOWN_FAILING, parseFaults } from '../test/simulation/faults.js';
import { simulate } from '../test/simulation/simulation.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const flags = parseFaults(option('faults') ?? 'passing');
const verbose = process.argv.includes('--verbose');
const one = option('seed');
const from = Number(one ?? option('from') ?? 1);
const count = one === undefined ? Number(option('seeds') ?? 100) : 1;
const maxFailures = Number(option('max-failures') ?? 20);
const faults = faultList(flags);

console.log(`fault classes: ${faults}`);
if (one === undefined)
  console.log(`known failing today: ${KNOWN_FAILING.join(', ')} (of ${FAULT_NAMES.length})`);
const started = Date.now();
let failing = 0;
let violations = 0;
let dials = 0;
const byChecker = new Map<string, number>();
for (let seed = from; seed < from + count; seed++) {
  const result = await simulate({ seed, flags, verbose });
  dials += result.dials;
  if (result.violations.length === 0) {
    if (one !== undefined)
      console.log(`seed ${seed}: ok (trace ${result.traceHash}, ${result.virtualMs} virtual ms)`);
    continue;
  }
  failing += 1;
  violations += result.violations.length;
  for (const v of result.violations) byChecker.set(v.checker, (byChecker.get(v.checker) ?? 0) + 1);
  console.log(`seed ${seed}: ${result.violations.length} violation(s)`);
  for (const v of result.violations)
    console.log(`  [${v.checker}]${v.t === undefined ? '' : ` at ${v.t} ms`} ${v.message}`);
  console.log(`  replay: npm run simulate -- --seed ${seed} --faults ${faults} --verbose`);
  if (failing >= maxFailures && one === undefined) {
    console.log(`stopping after ${failing} failing seeds`);
    break;
  }
}
const wall = ((Date.now() - started) / 1000).toFixed(1);
const checkers = [...byChecker].map(([name, n]) => `${name}=${n}`).join(' ');
console.log(
  `seeds: ${count}  failing seeds: ${failing}  violations: ${violations}${checkers ? ` (${checkers})` : ''}  dials: ${dials}  wall: ${wall} s`,
);
process.exitCode = failing > 0 ? 1 : 0;

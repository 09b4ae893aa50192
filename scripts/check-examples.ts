/**
 * `npm run check:examples`: runs every example against the built package (dist/, through the
 * package's own name) and checks what it does. CI runs it after `npm run build`; the npm script
 * builds first when dist/ is missing or stale and typechecks examples/ against dist/'s types.
 *
 *   npm run check:examples                 all of them
 *   npm run check:examples -- express      only the named ones (express, fastify, hono, custom-dialer, multi-process)
 *
 * Each example has a hard deadline, so a hang fails the step instead of the CI job. The
 * multi-process example needs redis-server and PostgreSQL binaries: without them it is skipped
 * with a banner, except under CI=true, where that is a failure.
 */
import { findPostgresBin, findRedisBinary } from '../test/support/servers.js';
import { checkCustomDialer } from './check-examples/check-custom-dialer.js';
import { checkHttpExample } from './check-examples/check-http-example.js';
import { checkMultiProcess } from './check-examples/check-multi-process.js';

interface Step {
  name: string;
  deadlineMs: number;
  run(): Promise<void>;
  /** Why it cannot run here, if it cannot. */
  missing?(): string | undefined;
}

const steps: Step[] = [
  // The same app in three frameworks, held to one check.
  { name: 'express', deadlineMs: 90_000, run: checkHttpExample('express') },
  { name: 'fastify', deadlineMs: 90_000, run: checkHttpExample('fastify') },
  { name: 'hono', deadlineMs: 90_000, run: checkHttpExample('hono') },
  { name: 'custom-dialer', deadlineMs: 120_000, run: checkCustomDialer },
  {
    name: 'multi-process',
    deadlineMs: 240_000,
    run: checkMultiProcess,
    missing: () =>
      [
        findRedisBinary() ? undefined : 'redis-server not found on PATH (or $REDIS_SERVER)',
        findPostgresBin() ? undefined : 'PostgreSQL not found (initdb/postgres, or $POSTGRES_BIN)',
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !steps.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown example(s): ${unknown.join(', ')}; known: ${steps.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const results: { name: string; result: string; seconds: string }[] = [];
let failed = false;
for (const step of steps.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  const missing = step.missing?.();
  if (missing) {
    const banner = '!'.repeat(78);
    console.warn(`\n${banner}\n!! SKIPPING ${step.name}: ${missing}\n${banner}\n`);
    failed ||= process.env.CI === 'true';
    results.push({
      name: step.name,
      result: process.env.CI === 'true' ? 'FAILED (missing)' : 'skipped',
      seconds: '',
    });
    continue;
  }
  console.log(`\n== ${step.name}`);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no result within ${step.deadlineMs / 1000} s`)),
      step.deadlineMs,
    );
  });
  let result = 'ok';
  try {
    await Promise.race([step.run(), deadline]);
  } catch (err) {
    failed = true;
    result = Date.now() - started >= step.deadlineMs ? 'TIMED OUT' : 'FAILED';
    console.error(`!! ${step.name}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
  results.push({ name: step.name, result, seconds: ((Date.now() - started) / 1000).toFixed(1) });
  // A step past its deadline may still have children running: stop here, exiting kills them.
  if (result === 'TIMED OUT') break;
}

console.log('');
console.table(results);
// Exit explicitly: a step that timed out may still hold handles; its children die with us.
process.exit(failed ? 1 : 0);

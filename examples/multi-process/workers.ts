/**
 * Forks N worker processes that share one PostgreSQL and one Redis:
 *
 *   npx tsx examples/multi-process/workers.ts --workers 3 \
 *     --database-url postgres://user@127.0.0.1/db --redis-url redis://127.0.0.1:6379
 *
 * Then start runs from another terminal with start-run.ts. `--kill-one-after 10` SIGKILLs the
 * busiest worker 10 s after start, to watch the others adopt its runs and reclaim its slots.
 * Ctrl-C stops every worker cleanly. Like every example it runs on the build in dist/
 * (`npm install` makes it, `npm run build` remakes it); `npm run check:examples -- multi-process`
 * runs all of this on throwaway servers.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '3' },
    'database-url': { type: 'string' },
    'redis-url': { type: 'string' },
    'kill-one-after': { type: 'string' },
  },
});

const count = Number(args.workers);
if (!Number.isInteger(count) || count < 1) throw new Error('--workers must be a whole number >= 1');
const env: NodeJS.ProcessEnv = { ...process.env };
if (args['database-url']) env.DATABASE_URL = args['database-url'];
if (args['redis-url']) env.REDIS_URL = args['redis-url'];

const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
const children = new Map<number, ChildProcess>();
let stopping = false;
let lastBusy: number | undefined;

for (let id = 1; id <= count; id++) {
  // The children inherit this process's execArgv: started with tsx, they run TypeScript too.
  const child = fork(workerFile, [], { env: { ...env, WORKER_ID: String(id) }, execArgv: process.execArgv });
  children.set(id, child);
  child.on('message', (message) => {
    if (message === 'dialing') lastBusy = id;
  });
  child.on('exit', (code, signal) => {
    children.delete(id);
    console.log(`[workers] worker ${id} (pid ${child.pid}) exited: ${signal ?? `code ${code}`}`);
    if (!stopping && children.size === 0) process.exit(1);
    if (stopping && children.size === 0) process.exit(0);
  });
}
console.log(`[workers] started ${count} workers; Ctrl-C stops them`);

if (args['kill-one-after']) {
  const afterMs = Number(args['kill-one-after']) * 1000;
  setTimeout(() => {
    // The worker that dialed last: it holds slots and probably owns a run.
    const id = lastBusy !== undefined && children.has(lastBusy) ? lastBusy : [...children.keys()][0];
    const victim = id === undefined ? undefined : children.get(id);
    if (!victim) return;
    console.log(
      `[workers] SIGKILL worker ${id} (pid ${victim.pid}): no clean shutdown, its leases must expire`,
    );
    victim.kill('SIGKILL');
  }, afterMs);
}

function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  console.log(`[workers] ${signal}: stopping ${children.size} workers`);
  // On Ctrl-C the terminal sends SIGINT to the workers too; sending it again is harmless.
  for (const child of children.values()) child.kill('SIGTERM');
  if (children.size === 0) process.exit(0);
}
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));

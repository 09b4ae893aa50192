// Builds dist/ (`npm run build`) when it is missing or older than its inputs, and does nothing
// otherwise. The examples import the package by its own name, which resolves through package.json
// `exports` to dist/; dist/ is git-ignored, so `prepare` (run by `npm install` / `npm ci`) and
// `npm run demo` call this to make a fresh clone work, and an edit to src/ shows up in the next
// demo without a manual build. `--force` always builds.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const inputs = ['src', 'tsup.config.ts', 'tsconfig.json', 'package.json'];

/** Newest mtime under a file or directory (directories count: a deleted file changes its dir). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let time = stat.mtimeMs;
  for (const entry of readdirSync(path)) time = Math.max(time, newest(join(path, entry)));
  return time;
}

/** Every file the package's `exports` point at: all of them must exist for a build to count. */
function outputs() {
  const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const files = new Set();
  const walk = (value) => {
    if (typeof value === 'string') {
      if (value.startsWith('./dist/')) files.add(join(root, value));
    } else if (value && typeof value === 'object') {
      for (const inner of Object.values(value)) walk(inner);
    }
  };
  walk(exports);
  return [...files];
}

function staleReason() {
  if (process.argv.includes('--force')) return 'forced';
  let oldestOutput = Number.POSITIVE_INFINITY;
  for (const file of outputs()) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return `${file.slice(root.length + 1)} is missing`;
    oldestOutput = Math.min(oldestOutput, stat.mtimeMs);
  }
  const newestInput = Math.max(...inputs.map((p) => newest(join(root, p))));
  return newestInput > oldestOutput ? 'src/ changed since the last build' : undefined;
}

const reason = staleReason();
if (reason) {
  console.error(`outbound-queue: building dist/ (${reason})...`);
  const started = Date.now();
  const result = spawnSync('npm', ['run', '--silent', 'build', '--', '--silent'], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) {
    console.error('outbound-queue: the build failed (see above)');
    process.exit(result.status ?? 1);
  }
  console.error(`outbound-queue: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Packs the library as npm would publish it, installs the tarball into a scratch project, and
// imports every entry point with both `import` and `require`; then runs publint and
// are-the-types-wrong on the tarball.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

const scratch = mkdtempSync(join(tmpdir(), 'oq-pack-'));
try {
  const tarball = join(
    scratch,
    run('npm', ['pack', '--silent', '--pack-destination', scratch]).trim().split('\n').pop(),
  );
  process.stdout.write(run('npx', ['publint', '--strict', tarball]));
  process.stdout.write(run('npx', ['attw', tarball, '--profile', 'node16', '--format', 'table-flipped']));

  const app = join(scratch, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      tarball,
      `kysely@${dep('kysely')}`,
      `ioredis@${dep('ioredis')}`,
      `twilio@${dep('twilio')}`,
      `@opentelemetry/api@${dep('@opentelemetry/api')}`,
    ],
    app,
  );

  const checks = {
    'outbound-queue': ['OutboundQueue', 'MemorySlotLimiter', 'SimulatedDialer', 'ValidationError'],
    'outbound-queue/kysely': ['KyselyStore'],
    'outbound-queue/redis': ['RedisSlotLimiter'],
    'outbound-queue/twilio': ['TwilioDialer'],
    'outbound-queue/dashboard': ['createDashboardHandler', 'toNodeHandler'],
    'outbound-queue/opentelemetry': ['instrumentOpenTelemetry'],
  };
  const esm = Object.entries(checks)
    .map(
      ([path, names], i) =>
        `import * as m${i} from '${path}';\nfor (const n of ${JSON.stringify(names)}) if (typeof m${i}[n] !== 'function') throw new Error('${path} (esm) lacks ' + n);`,
    )
    .join('\n');
  const cjs = Object.entries(checks)
    .map(
      ([path, names]) =>
        `{ const m = require('${path}'); for (const n of ${JSON.stringify(names)}) if (typeof m[n] !== 'function') throw new Error('${path} (cjs) lacks ' + n); }`,
    )
    .join('\n');
  // Error classes must be one class across entry points, or `instanceof` checks fail silently.
  const sameErrors = (load) =>
    `{ const { DialError } = ${load('outbound-queue')}; const { mapTwilioError } = ${load('outbound-queue/twilio')};
  const err = mapTwilioError(Object.assign(new Error('bad number'), { status: 400, code: 21211 }));
  if (!(err instanceof DialError)) throw new Error('DialError differs between entry points'); }`;
  writeFileSync(
    join(app, 'esm.mjs'),
    `${esm}\n${sameErrors((p) => `await import('${p}')`)}\nconsole.log('esm ok');\n`,
  );
  writeFileSync(
    join(app, 'cjs.cjs'),
    `${cjs}\n${sameErrors((p) => `require('${p}')`)}\nconsole.log('cjs ok');\n`,
  );
  process.stdout.write(run('node', ['esm.mjs'], app));
  process.stdout.write(run('node', ['cjs.cjs'], app));
  // The dashboard's entry runs on any web-standard runtime (Bun, Deno, workers): nothing it loads
  // may import a Node built-in; toNodeHandler only uses the objects node:http hands it.
  const dist = join(app, 'node_modules', 'outbound-queue', 'dist');
  for (const entry of ['dashboard.js', 'dashboard.cjs']) {
    const builtins = builtinImports(join(dist, entry));
    if (builtins.length > 0) throw new Error(`dist/${entry} loads Node built-ins: ${builtins.join(', ')}`);
  }
  console.log('dashboard loads no Node built-in');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** The Node built-ins `file` and the files it imports (relative specifiers, followed) import. */
function builtinImports(file, seen = new Set()) {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/(?:^|[;\s])import\s*\(?\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]);
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('.')) return builtinImports(join(dirname(file), specifier), seen);
    return specifier.startsWith('node:') || builtinModules.includes(specifier) ? [specifier] : [];
  });
}

function dep(name) {
  const pkg = JSON.parse(run('node', ['-p', `JSON.stringify(require('./package.json'))`]));
  return pkg.devDependencies[name];
}

#!/usr/bin/env node
/**
 * Type-checks every ```ts / ```typescript block of README.md and docs/*.md against the built
 * package, as a user's project would see it: `npm run build && npm run check:snippets`.
 *
 * Each block becomes one file of a scratch project in a temporary directory, named after its
 * markdown file and line (`docs-twilio.md-13.ts`). In that project `outbound-queue` is this
 * repository (a symlink), so imports of `outbound-queue`, `outbound-queue/kysely`, `/redis` and
 * `/twilio` resolve through package.json `exports` to `dist/`; every other package (kysely,
 * ioredis, twilio, pg, better-sqlite3, @types/node, ...) is this repository's node_modules. tsc
 * then runs with strict settings (module NodeNext, target ES2022, types node), each block being an
 * ES module, so top-level await works. Failures print as `<markdown file>:<line>:<col>`.
 *
 * Markers. A block that depends on its surrounding text says so in an HTML comment on the line
 * right before its opening fence (invisible where the markdown is rendered):
 *
 *   <!-- snippet: prelude
 *   declare const queue: import('outbound-queue').OutboundQueue; // from the setup above
 *   -->
 *       TypeScript put before the block when it is checked: declarations of what the text around
 *       it provides. The prelude may be on one line: `<!-- snippet: prelude declare const x: T; -->`.
 *       It must not contain `-->`. Errors in it are reported at the comment's lines.
 *
 *   <!-- snippet: skip reason -->
 *       The block is not checked (it needs a package this repository does not install, say).
 *       Give the reason. Use it sparingly: prefer a block that compiles, then a prelude.
 *
 * Options: `--keep` keeps the scratch project and prints its path.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const ts = createRequire(join(root, 'package.json'))('typescript');

const compilerOptions = {
  strict: true,
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  lib: ['ES2022'],
  types: ['node'],
  skipLibCheck: true,
  noEmit: true,
  isolatedModules: true,
};

/** The markdown files whose blocks are checked. docs/reference is typedoc's output. */
function markdownFiles() {
  const docs = join(root, 'docs');
  const guides = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join(docs, name))
    : [];
  return [join(root, 'README.md'), ...guides].filter((file) => existsSync(file));
}

/**
 * The TypeScript blocks of one markdown file, with the marker comment before each.
 * @returns `{ line, code, prelude?, preludeLine?, skip? }` per block; `line` is the 1-based line of the code's first line
 */
function extractBlocks(text) {
  const lines = text.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    while (
      j < lines.length &&
      !(lines[j].trim().startsWith(fence) && lines[j].trim().replace(/[`~]/g, '') === '')
    ) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    if (lang === 'ts' || lang === 'typescript') {
      blocks.push({ line: i + 2, code: body.join('\n'), ...markerBefore(lines, i) });
    }
    i = j;
  }
  return blocks;
}

/** Reads the `<!-- snippet: ... -->` comment that ends on the line before `fenceIndex`, if any. */
function markerBefore(lines, fenceIndex) {
  const end = fenceIndex - 1;
  if (end < 0 || !lines[end].trim().endsWith('-->')) return {};
  let start = end;
  while (start >= 0 && !lines[start].includes('<!--')) start--;
  if (start < 0) return {};
  const comment = lines
    .slice(start, end + 1)
    .join('\n')
    .trim();
  const marker = /^<!--\s*snippet:\s*(skip|prelude)\b([\s\S]*?)-->$/.exec(comment);
  if (!marker) {
    if (/^<!--\s*snippet\b/.test(comment)) throw new Error(`line ${start + 1}: unknown snippet marker`);
    return {};
  }
  const [, kind, rest] = marker;
  if (kind === 'skip') return { skip: rest.trim() || 'no reason given' };
  // A prelude on the marker's own line starts on that line; one after a line break on the next.
  const firstLine = rest.startsWith('\n') ? start + 2 : start + 1;
  return { prelude: rest.replace(/^[ \t]*\n/, '').replace(/\n[ \t]*$/, ''), preludeLine: firstLine };
}

/** A scratch project where `outbound-queue` is this repository and every other package is its node_modules. */
function scratchProject() {
  const dir = mkdtempSync(join(tmpdir(), 'oq-doc-snippets-'));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  const repoModules = join(root, 'node_modules');
  for (const name of readdirSync(repoModules)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      mkdirSync(join(modules, name));
      for (const sub of readdirSync(join(repoModules, name))) {
        symlinkSync(join(repoModules, name, sub), join(modules, name, sub), 'dir');
      }
    } else {
      symlinkSync(join(repoModules, name), join(modules, name), 'dir');
    }
  }
  rmSync(join(modules, 'outbound-queue'), { force: true, recursive: true });
  symlinkSync(root, join(modules, 'outbound-queue'), 'dir');
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'doc-snippets', private: true, type: 'module' })}\n`,
  );
  return dir;
}

function main() {
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    console.error('check-doc-snippets: dist/ is missing; run `npm run build` first.');
    process.exit(2);
  }
  const dir = scratchProject();
  /** Scratch file -> { source, lineOf(fileLine0) -> markdown line } */
  const origins = new Map();
  let checked = 0;
  const skipped = [];
  for (const file of markdownFiles()) {
    const source = relative(root, file);
    for (const block of extractBlocks(readFileSync(file, 'utf8'))) {
      const where = `${source}:${block.line}`;
      if (block.skip) {
        skipped.push(`${where}: ${block.skip}`);
        continue;
      }
      const prelude = block.prelude ? block.prelude.split('\n') : [];
      const name = `${source.replace(/[\\/]/g, '-')}-${block.line}.ts`;
      // `export {}` makes every block a module: its names stay its own, and top-level await works.
      writeFileSync(join(dir, name), `${[...prelude, block.code].join('\n')}\nexport {};\n`);
      origins.set(join(dir, name), {
        source,
        lineOf: (i) => (i < prelude.length ? block.preludeLine + i : block.line + i - prelude.length),
      });
      checked++;
    }
  }

  const parsed = ts.convertCompilerOptionsFromJson(compilerOptions, dir);
  if (parsed.errors.length > 0)
    throw new Error(ts.flattenDiagnosticMessageText(parsed.errors[0].messageText, '\n'));
  const program = ts.createProgram([...origins.keys()], parsed.options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const errors = diagnostics.map((d) => {
    const message = `error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n  ')}`;
    if (!d.file || d.start === undefined) return { source: '', line: 0, text: message };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const origin = origins.get(resolve(d.file.fileName));
    if (!origin)
      return { source: d.file.fileName, line: line + 1, text: `${d.file.fileName}:${line + 1} - ${message}` };
    const at = origin.lineOf(line);
    return { source: origin.source, line: at, text: `${origin.source}:${at}:${character + 1} - ${message}` };
  });
  errors.sort((a, b) => a.source.localeCompare(b.source) || a.line - b.line);
  for (const e of errors) console.log(e.text);
  for (const s of skipped) console.log(`skipped ${s}`);
  const failed = new Set(diagnostics.map((d) => d.file?.fileName).filter(Boolean)).size;
  console.log(
    `check-doc-snippets: ${checked} blocks type-checked, ${skipped.length} skipped; ` +
      (diagnostics.length === 0 ? 'all pass.' : `${diagnostics.length} errors in ${failed} blocks.`),
  );
  if (keep) console.log(`scratch project kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  process.exitCode = diagnostics.length === 0 ? 0 : 1;
}

main();

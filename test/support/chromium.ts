import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where Chromium is: `$CHROMIUM_PATH` when set, else `chromium` or `chromium-browser` on PATH
 * (Debian's `apt-get install chromium`). The browser suites drive it with playwright-core, which
 * downloads no browser of its own.
 * @returns the binary's path, or undefined when Chromium is not installed
 */
export function findChromium(): string | undefined {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) return isExecutable(explicit) ? explicit : undefined;
  for (const binary of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir && isExecutable(join(dir, binary))) return join(dir, binary);
    }
  }
  return undefined;
}

/**
 * The Chromium the browser suites run, or undefined when they must be skipped. A missing browser
 * is loud when running locally (the suites are skipped with a banner) and an error in CI
 * (`CI=true`), where a skipped suite would hide a gap in coverage; as `requireServer` does for
 * the real-server suites.
 * @returns the binary's path, or undefined (suites skipped) when Chromium is missing
 * @throws Error in CI when Chromium is missing
 */
export function requireChromium(): string | undefined {
  const found = findChromium();
  if (found) return found;
  const what = process.env.CHROMIUM_PATH
    ? `$CHROMIUM_PATH (${process.env.CHROMIUM_PATH}) is not an executable`
    : 'chromium not found on PATH (apt-get install chromium, or set $CHROMIUM_PATH)';
  if (process.env.CI === 'true')
    throw new Error(`CI=true and ${what}: browser suites cannot be skipped in CI`);
  const line = '!'.repeat(78);
  console.warn(`\n${line}\n!! SKIPPING browser suites: ${what}\n${line}\n`);
  return undefined;
}

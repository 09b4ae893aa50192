import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vitest/config';

/** Files bundled as text, as tsup's `loader` does for the build. */
const TEXT_FILES = ['.lua', '.html', '.client.js'];

/** Loads the Lua scripts and the dashboard's page and client script as text. */
function textFiles(): Plugin {
  return {
    name: 'text-files',
    enforce: 'pre',
    load(id) {
      if (!TEXT_FILES.some((ext) => id.endsWith(ext))) return null;
      return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    },
  };
}

export default defineConfig({
  plugins: [textFiles()],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

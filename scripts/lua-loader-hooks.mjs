// Module loader hook: a `.lua` file (and the dashboard's `.html` and `.client.js` files) becomes a
// module whose default export is its text, as tsup's `loader` does for the build.
import { readFile } from 'node:fs/promises';

const TEXT_FILES = ['.lua', '.html', '.client.js'];

export async function load(url, context, nextLoad) {
  if (!TEXT_FILES.some((ext) => url.endsWith(ext))) return nextLoad(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}

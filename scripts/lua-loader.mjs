// Lets Node (and tsx) import the limiter's `.lua` scripts as text when running the TypeScript
// sources directly, as tsup's `loader: { '.lua': 'text' }` does for the build and vitest's
// plugin does for the tests:  tsx --import ./scripts/lua-loader.mjs examples/demo/demo.ts
import { register } from 'node:module';

register('./lua-loader-hooks.mjs', import.meta.url);

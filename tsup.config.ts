import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    kysely: 'src/kysely.ts',
    redis: 'src/redis.ts',
    twilio: 'src/twilio.ts',
    dashboard: 'src/dashboard.ts',
    opentelemetry: 'src/opentelemetry.ts',
  },
  format: ['esm', 'cjs'],
  // One copy of shared modules (the error classes above all) for every entry point, in CJS too:
  // without it `instanceof DialError` fails across outbound-queue and outbound-queue/twilio.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The Lua scripts and the dashboard's page and client script are bundled as text.
  loader: { '.lua': 'text', '.html': 'text', '.client.js': 'text' },
  external: ['ioredis', 'kysely', 'twilio', '@opentelemetry/api'],
});

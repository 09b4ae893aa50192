import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    kysely: 'src/kysely.ts',
    redis: 'src/redis.ts',
    twilio: 'src/twilio.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  loader: { '.lua': 'text' },
  external: ['ioredis', 'kysely', 'twilio'],
});

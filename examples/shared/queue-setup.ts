/**
 * Builds the queue of the web examples (express, fastify, hono) from the environment. By default
 * everything is local and offline: a SQLite file, MemorySlotLimiter and SimulatedDialer. With
 * TWILIO_* set, calls go through Twilio and its status callbacks come back to
 * POST /webhooks/twilio/status.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import {
  type Dialer,
  type Logger,
  MemorySlotLimiter,
  OutboundQueue,
  SimulatedDialer,
  ValidationError,
} from 'outbound-queue';
import { KyselyStore } from 'outbound-queue/kysely';

/** The queue of one example server, with what its routes need. */
export interface ExampleQueue {
  queue: OutboundQueue;
  /** Where the calls go. */
  mode: 'simulated' | 'twilio';
  /** The Twilio status-callback handler (signature checked), when Twilio is configured. */
  twilioWebhook?: (request: Request) => Promise<Response>;
  /**
   * PUBLIC_URL without its trailing slash, when Twilio is configured: the origin the app is reached
   * at through a tunnel or proxy, which the dashboard's `publicUrl` must name, or it refuses the
   * page's POSTs (their `Origin` is the tunnel's `https://...`, not the `http://` the app sees).
   */
  publicUrl?: string;
  /** Stops dispatching in this process and closes the database. */
  close(): Promise<void>;
}

/** Prints the OUTBOUND_* lines as `NAME key=value ...`. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: (fields, msg) => console.log(format(msg, fields)),
  warn: (fields, msg) => console.warn(format(msg, fields)),
  error: (fields, msg) => console.error(format(msg, fields)),
};

function format(msg: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([key, value]) => value !== undefined && key !== 'limit')
    .map(([key, value]) => {
      if (key === 'active') return `active=${value}/${fields.limit}`;
      return `${key}=${value instanceof Error ? value.message : String(value)}`;
    });
  return [new Date().toISOString(), msg, ...parts].join(' ');
}

// biome-ignore lint/suspicious/noExplicitAny: the store's tables are not part of an app schema type
async function openDatabase(env: NodeJS.ProcessEnv, name: string): Promise<Kysely<any>> {
  if (env.DATABASE_URL) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL });
    // A dropped connection must not become an uncaught 'error' event: the queue retries.
    pool.on('error', (err) => console.warn(`postgres: ${err.message}`));
    pool.on('connect', (client) => client.on('error', (err) => console.warn(`postgres: ${err.message}`)));
    return new Kysely({ dialect: new PostgresDialect({ pool }) });
  }
  const file = env.DB_FILE ?? `.examples/${name}.sqlite`;
  mkdirSync(dirname(file), { recursive: true });
  const { default: Database } = await import('better-sqlite3');
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  return new Kysely({ dialect: new SqliteDialect({ database }) });
}

const TWILIO_VARS = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM', 'PUBLIC_URL'] as const;

/**
 * Opens the database, builds the dialer and the queue, migrates and starts dispatching.
 * @param name - the example's name: its default SQLite file is `.examples/<name>.sqlite`
 * @param env - the environment (see the example's README.md)
 * @returns the started queue, its mode, the Twilio webhook handler and the public URL in Twilio
 *   mode, and `close()`
 * @throws ValidationError naming the missing variables when Twilio is half configured
 */
export async function createExampleQueue(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExampleQueue> {
  const twilioWanted = Object.keys(env).some((name) => name.startsWith('TWILIO_'));
  const missing = TWILIO_VARS.filter((name) => !env[name]);
  if (twilioWanted && missing.length > 0) {
    throw new ValidationError(missing.map((name) => ({ field: name, message: 'is required for Twilio' })));
  }
  const db = await openDatabase(env, name);
  const store = new KyselyStore({ db });
  const limiter = new MemorySlotLimiter(); // one process; see examples/multi-process for Redis

  if (!twilioWanted) {
    const min = Number(env.SIM_MIN_MS ?? 2000);
    const max = Number(env.SIM_MAX_MS ?? 5000);
    const dialer: Dialer = new SimulatedDialer({
      durationMs: [min, max],
      // Some variety on the progress bar: numbers ending in 3 do not answer, in 7 are busy.
      outcome: (req) => (req.to.endsWith('3') ? 'no-answer' : req.to.endsWith('7') ? 'busy' : 'completed'),
    });
    const queue = new OutboundQueue({ store, limiter, dialer, logger: consoleLogger });
    return finish(queue, db, 'simulated');
  }

  // Loaded only when used: the `twilio` package is an optional peer dependency.
  const { TwilioDialer, createTwilioWebhookHandler } = await import('outbound-queue/twilio');
  const publicUrl = env.PUBLIC_URL!.replace(/\/$/, '');
  const dialer = new TwilioDialer({
    accountSid: env.TWILIO_ACCOUNT_SID,
    authToken: env.TWILIO_AUTH_TOKEN!,
    from: env.TWILIO_FROM!,
    statusCallbackUrl: `${publicUrl}/webhooks/twilio/status`,
    ...(env.TWILIO_TWIML_URL
      ? { url: env.TWILIO_TWIML_URL }
      : { twiml: '<Response><Say>Hello from outbound-queue.</Say></Response>' }),
    publicUrl,
  });
  const queue = new OutboundQueue({ store, limiter, dialer, logger: consoleLogger });
  const twilioWebhook = createTwilioWebhookHandler({ dialer, queue, publicUrl, logger: consoleLogger });
  return { ...(await finish(queue, db, 'twilio')), twilioWebhook, publicUrl };
}

async function finish(
  queue: OutboundQueue,
  // biome-ignore lint/suspicious/noExplicitAny: see openDatabase
  db: Kysely<any>,
  mode: ExampleQueue['mode'],
): Promise<ExampleQueue> {
  await queue.migrate();
  await queue.start();
  return {
    queue,
    mode,
    async close() {
      await queue.close();
      await db.destroy();
    },
  };
}

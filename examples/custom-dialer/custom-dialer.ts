/**
 * A custom Dialer adapter at work: `npx tsx examples/custom-dialer/custom-dialer.ts`.
 *
 * Starts a fake telephony provider and a status-callback server on local ports, then runs 8 leads
 * at concurrency 3 through VoiceApiDialer on in-memory SQLite + MemorySlotLimiter. Among the
 * leads, one number is refused by the provider (permanent failure), one is busy, and one meets
 * a 503 on its first attempt (transient: retried later). The provider allows 2 new calls a
 * second, and `dialsPerSecond` keeps the queue under that.
 *
 * It imports the package by name, which resolves to the build in dist/: `npm install` makes it,
 * `npm run build` remakes it after a change to src/.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import {
  type Logger,
  MemorySlotLimiter,
  OutboundQueue,
  ValidationError,
  WebhookSignatureError,
} from 'outbound-queue';
import { KyselyStore } from 'outbound-queue/kysely';
import { startFakeVoiceApi } from './fake-voice-api.js';
import { VoiceApiDialer } from './voice-api-dialer.js';

const apiKey = 'key_example';
const webhookSecret = 'whsec_example';
const api = await startFakeVoiceApi({ apiKey, webhookSecret, createsPerSecond: 2 });

// The status-callback route. In an app this is one route of your web framework.
let queue: OutboundQueue | undefined;
let dialer: VoiceApiDialer | undefined;
const callbacks = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  if (req.method !== 'POST' || !req.url?.startsWith('/voice/status') || !queue || !dialer) {
    res.writeHead(404).end();
    return;
  }
  try {
    const signature = req.headers['x-voice-signature'];
    const event = dialer.parseWebhook(req.url, body, typeof signature === 'string' ? signature : undefined);
    await queue.handleCallEvent(event); // { applied: false } for duplicates and stale events: still 204
    res.writeHead(204).end();
  } catch (err) {
    const status = err instanceof WebhookSignatureError ? 403 : err instanceof ValidationError ? 400 : 500;
    if (status === 500) console.error('callback failed', err);
    res.writeHead(status).end(); // 500: the provider may retry; the queue applies each event once
  }
});
await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', resolve));
const callbackUrl = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}/voice/status`;

const logger: Logger = {
  debug: () => {},
  info: (fields, msg) => console.log(line(msg, fields)),
  warn: (fields, msg) => console.log(line(msg, fields)),
  error: (fields, msg) => console.error(line(msg, fields)),
};

function line(msg: string, fields: Record<string, unknown>): string {
  const shown = Object.entries(fields).filter(([k, v]) => v !== undefined && k !== 'limit');
  const text = shown.map(([k, v]) => (k === 'active' ? `active=${v}/${fields.limit}` : `${k}=${String(v)}`));
  return [msg, ...text].join(' ');
}

dialer = new VoiceApiDialer({ baseUrl: api.url, apiKey, statusCallbackUrl: callbackUrl, webhookSecret });
const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
queue = new OutboundQueue({
  store: new KyselyStore({ db }),
  limiter: new MemorySlotLimiter(),
  dialer,
  logger,
  // The provider allows 2 new calls a second; stay a little under it (network delays vary).
  // Without this, a 429 frees the slot, the next waiting job is dialed at once and meets the same
  // 429: every job in line spends an attempt.
  dialsPerSecond: 1.5,
  retry: { maxAttempts: 3, baseDelayMs: 500 },
});
await queue.migrate();
await queue.start();

const numbers = [
  '+14155550101',
  '+14155550102',
  '+14155550103',
  '+14155550199', // refused by the provider: permanent failure, never retried
  '+14155550105', // 503 on the first attempt: retried
  '+14155550107', // busy
  '+14155550108',
  '+14155550109',
];
const run = await queue.startRun({
  businessId: 'acme',
  concurrency: 3,
  from: '+14155550100',
  leads: numbers.map((to, i) => ({ to, leadId: `lead-${i + 1}` })),
});
const summary = await queue.waitForRun(run.runId, { timeoutMs: 60_000 });

console.table(
  (await queue.listJobs(run.runId)).map((job) => ({
    lead: job.leadId,
    to: job.to,
    status: job.status,
    attempts: job.attempt,
    call: job.callId ?? '',
    error: job.errorCode ?? '',
  })),
);
console.log(`run ${summary.status}:`, summary.counts);
// What the reconciler would ask after a crash or a lost callback:
const [sample] = await queue.listJobs(run.runId, { status: 'completed', limit: 1 });
if (sample?.callId) console.log(`fetchCall(${sample.callId}):`, await dialer.fetchCall(sample.callId));

await queue.close();
await db.destroy();
callbacks.closeAllConnections();
callbacks.close();
await api.close();

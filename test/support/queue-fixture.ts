import type { Kysely } from 'kysely';
import type { Dialer } from '../../src/dialer/dialer.js';
import { MemorySlotLimiter } from '../../src/limiter/memory-slot-limiter.js';
import type { SlotLimiter } from '../../src/limiter/slot-limiter.js';
import { OutboundQueue, type OutboundQueueOptions } from '../../src/queue/outbound-queue.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import type { LeadInput } from '../../src/types.js';
import { MemoryLogger } from './recording-dialer.js';
import { sqliteDb } from './sqlite.js';

/** A started queue on in-memory SQLite and a memory limiter, with a logger that keeps every line. */
export interface QueueFixture {
  queue: OutboundQueue;
  store: KyselyStore;
  limiter: SlotLimiter;
  logger: MemoryLogger;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the store's tables directly
  db: Kysely<any>;
  close(): Promise<void>;
}

/** Builds and starts a {@link QueueFixture}. */
export async function startQueue(
  dialer: Dialer,
  options: Partial<OutboundQueueOptions> & { db?: Kysely<unknown> } = {},
): Promise<QueueFixture> {
  // biome-ignore lint/suspicious/noExplicitAny: see QueueFixture.db
  const db = (options.db as Kysely<any>) ?? sqliteDb();
  const store = new KyselyStore({ db });
  const limiter = options.limiter ?? new MemorySlotLimiter();
  const logger = new MemoryLogger();
  const queue = new OutboundQueue({ store, limiter, dialer, logger, ...options });
  await queue.migrate();
  await queue.start();
  return {
    queue,
    store,
    limiter,
    logger,
    db,
    async close() {
      await queue.close();
      if (!options.db) await db.destroy();
    },
  };
}

/** `n` leads with distinct valid US numbers. */
export function leads(n: number, offset = 0): LeadInput[] {
  return Array.from({ length: n }, (_, i) => ({
    to: `+1415555${String(1000 + offset + i).padStart(4, '0')}`,
    leadId: `lead-${offset + i}`,
    metadata: { n: offset + i },
  }));
}

/** Polls `check` until it returns true or `timeoutMs` passes (a deadline, not a sleep). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = false;
  while (!(await check())) {
    if (last) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Past the deadline, check once more after the I/O a stalled process had pending: after a
    // stall, timers run before the replies and events that arrived meanwhile are read.
    if (Date.now() > deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      last = true;
    }
  }
}

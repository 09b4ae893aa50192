import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { HandoffTracker } from '../measure/handoff.js';
import type { Peer, PeerEnv, PreparedRun, WorkloadSpec } from './peer.js';
import { benchLeads, businessId, countdown, simulatedCall } from './simulated-call.js';

/**
 * Above this many businesses the BullMQ set-up (a Worker per business, each with its own blocking
 * connection) is not attempted: 10,000 connections is Redis's default `maxclients`.
 */
const MAX_BUSINESSES = 1000;

/**
 * BullMQ as its docs recommend for a concurrency limit per tenant without BullMQ Pro's groups:
 * one `Queue` + one `Worker` per business, the Worker's `concurrency` = the limit. Every Queue and
 * Worker reuses one ioredis connection ("reusing connections"); each Worker duplicates it for its
 * blocking connection, as BullMQ requires. Jobs are added with `addBulk` and removed on completion.
 */
export class BullmqPeer implements Peer {
  readonly system = 'bullmq';
  readonly backend = 'Redis';

  unsupported(spec: WorkloadSpec): string | undefined {
    if (spec.groupConcurrency !== undefined)
      return 'groups are a BullMQ Pro feature (not in the open-source package)';
    if (spec.businesses <= MAX_BUSINESSES) return undefined;
    return (
      `a Queue + Worker per business holds a blocking connection per Worker (101 for 100 businesses): ` +
      `>= ${spec.businesses.toLocaleString('en-US')} connections (Redis default maxclients is 10,000)`
    );
  }

  async prepare(spec: WorkloadSpec, env: PeerEnv, tracker: HandoffTracker): Promise<PreparedRun> {
    const connection = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
    const total = spec.businesses * spec.leadsPerBusiness;
    let completed = 0;
    const allDone = countdown(total, () => completed);
    const queues: Queue[] = [];
    const workers: Worker[] = [];
    for (let b = 0; b < spec.businesses; b++) {
      const key = businessId(b);
      queues.push(new Queue(key, { connection }));
      const worker = new Worker(
        key,
        async (_job: Job) => {
          tracker.callStarted(key);
          await simulatedCall(spec.callMs);
          tracker.callEnded(key);
        },
        { connection, concurrency: spec.concurrency },
      );
      worker.on('completed', () => {
        completed += 1;
        allDone.poke();
      });
      worker.on('error', (err) => console.error(`bullmq worker error: ${err.message}`));
      workers.push(worker);
    }
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    await Promise.all(queues.map((q) => q.waitUntilReady()));
    return {
      notes: ['Queue + Worker per business, shared connection, removeOnComplete'],
      async run() {
        for (let b = 0; b < spec.businesses; b++) {
          const leads = benchLeads(b * spec.leadsPerBusiness, spec.leadsPerBusiness);
          await queues[b]?.addBulk(
            leads.map((lead) => ({
              name: 'call',
              data: lead,
              opts: { removeOnComplete: true, removeOnFail: true },
            })),
          );
        }
        await allDone.done;
      },
      settle: async () => {},
      async close() {
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all(queues.map((q) => q.close()));
        await connection.quit().catch(() => connection.disconnect());
      },
    };
  }
}

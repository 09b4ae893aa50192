import Bottleneck from 'bottleneck';
import type { HandoffTracker } from '../measure/handoff.js';
import type { Peer, PeerEnv, PreparedRun, WorkloadSpec } from './peer.js';
import { benchLeads, businessId, simulatedCall } from './simulated-call.js';

/**
 * bottleneck as its README recommends for a limit per key shared through Redis: one
 * `Bottleneck.Group` with `datastore: 'ioredis'` (one shared client + subscriber connection for
 * all keys) and `maxConcurrent` = the per-business limit. Each lead is one `schedule()` call on
 * its business's limiter; the job function is the simulated call.
 */
export class BottleneckPeer implements Peer {
  readonly system = 'bottleneck';
  readonly backend = 'Redis';

  unsupported(spec: WorkloadSpec): string | undefined {
    return spec.groupConcurrency === undefined ? undefined : 'no account groups (one limiter per key)';
  }

  async prepare(spec: WorkloadSpec, env: PeerEnv, tracker: HandoffTracker): Promise<PreparedRun> {
    const url = new URL(env.redisUrl);
    const group = new Bottleneck.Group({
      id: `bench-${process.pid}-${Date.now()}`,
      maxConcurrent: spec.concurrency,
      datastore: 'ioredis',
      clientOptions: { host: url.hostname, port: Number(url.port) },
      clearDatastore: true,
    });
    group.on('error', (err: Error) => console.error(`bottleneck error: ${err.message}`));
    // The limiters exist before the clock starts (steady state): their Redis set-up is not timed.
    const limiters: Bottleneck[] = [];
    for (let b = 0; b < spec.businesses; b++) limiters.push(group.key(businessId(b)));
    await Promise.all(limiters.map((limiter) => limiter.ready()));
    return {
      notes: ['Group, ioredis datastore, limiters created before the clock'],
      async run() {
        const jobs: Promise<void>[] = [];
        limiters.forEach((limiter, b) => {
          const key = businessId(b);
          for (const _lead of benchLeads(b * spec.leadsPerBusiness, spec.leadsPerBusiness)) {
            jobs.push(
              limiter.schedule(async () => {
                tracker.callStarted(key);
                await simulatedCall(spec.callMs);
                tracker.callEnded(key);
              }),
            );
          }
        });
        await Promise.all(jobs);
      },
      settle: async () => {},
      async close() {
        // Each limiter's heartbeat timer lives until the limiter itself is disconnected.
        await Promise.all(limiters.map((limiter) => limiter.disconnect(false)));
        await group.disconnect(false);
      },
    };
  }
}

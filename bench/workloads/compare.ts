import type { Peer, PeerEnv, WorkloadSpec } from '../peers/peer.js';
import { dispatchRow, type RowDetail } from '../report.js';
import { type DispatchMeasurement, measureDispatch } from './dispatch.js';

/**
 * Runs one workload on every system, `repetitions` times, alternating the order (A B C, C B A,
 * A B C, ...) so that no system always runs first (cold) or last (warm machine, full disk cache).
 * @param spec - the workload
 * @param peers - the systems
 * @param repetitions - passes per system
 * @param env - the throwaway servers
 * @param timeoutMs - longest one pass may take
 * @returns one row per system, in the order of `peers`
 */
export async function compareSystems(
  spec: WorkloadSpec,
  peers: readonly Peer[],
  repetitions: number,
  env: PeerEnv,
  timeoutMs: number,
): Promise<RowDetail[]> {
  const passes = new Map<Peer, DispatchMeasurement[]>(peers.map((p) => [p, []]));
  for (let rep = 0; rep < repetitions; rep++) {
    const order = rep % 2 === 0 ? peers : [...peers].reverse();
    for (const peer of order) {
      if (peer.unsupported(spec)) continue;
      const m = await measureDispatch(peer, spec, env, timeoutMs);
      passes.get(peer)?.push(m);
      const rate = m.failure
        ? `FAILED: ${m.failure}`
        : `${Math.round(m.calls / m.seconds).toLocaleString('en-US')} calls/s`;
      console.error(
        `  ${spec.name} | ${peer.system} (${peer.backend}) pass ${rep + 1}/${repetitions}: ${rate}`,
      );
    }
  }
  return peers.map((peer) => dispatchRow(spec, peer, passes.get(peer) ?? [], peer.unsupported(spec)));
}

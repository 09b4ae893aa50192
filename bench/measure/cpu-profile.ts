/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time,
 * and how much of the profile the process spent idle or collecting garbage.
 *
 *   npx tsx bench/measure/cpu-profile.ts CPU.*.cpuprofile [top=25] [filter]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function (all its nodes summed). */
export interface HotSpot {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/**
 * Reads a profile and adds up the self time of each function.
 * @param path - the `.cpuprofile` file
 * @param filter - only keep functions whose location contains this text
 * @returns hot spots by self time, largest first, and the total profiled time
 */
export function summarizeProfile(path: string, filter?: string): { totalMs: number; spots: HotSpot[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totals = new Map<string, HotSpot>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const url = frame.url.startsWith('file://')
      ? relative(process.cwd(), new URL(frame.url).pathname)
      : frame.url;
    const where = url ? `${url}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const spot = totals.get(key) ?? { name: frame.functionName || '(anonymous)', where, selfMs: 0, share: 0 };
    spot.selfMs += us / 1000;
    totals.set(key, spot);
  }
  const spots = [...totals.values()]
    .filter((s) => !filter || s.where.includes(filter) || s.name.includes(filter))
    .map((s) => ({ ...s, share: s.selfMs / (totalUs / 1000) }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, spots };
}

/**
 * Adds up hot spots per package or source folder (`kysely`, `ioredis`, `src/queue`, `(garbage collector)`).
 * @param spots - the hot spots of {@link summarizeProfile}
 * @returns share of the profile per group, largest first
 */
export function groupHotSpots(spots: HotSpot[]): Array<[string, number]> {
  const groups = new Map<string, number>();
  for (const s of spots) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s.where)?.[1];
    const own = /^(src\/[^/]+|bench\/[^/]+|test\/[^/]+)/.exec(s.where)?.[1];
    const group = pkg ?? own ?? (s.where.startsWith('node:') ? 'node internals' : s.where ? s.where : s.name);
    groups.set(group, (groups.get(group) ?? 0) + s.share);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

const file = process.argv[2];
if (file && import.meta.url === new URL(process.argv[1] ?? '', 'file://').href) {
  const top = Number(process.argv[3] ?? 25);
  const { totalMs, spots } = summarizeProfile(file, process.argv[4]);
  console.log(`profiled ${(totalMs / 1000).toFixed(2)} s`);
  console.log('by package / folder:');
  for (const [group, share] of groupHotSpots(spots).slice(0, 15)) {
    console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${group}`);
  }
  console.log('by function (self time):');
  for (const s of spots.slice(0, top)) {
    console.log(
      `${(s.share * 100).toFixed(1).padStart(5)}%  ${s.selfMs.toFixed(0).padStart(6)} ms  ${s.name}  ${s.where}`,
    );
  }
}

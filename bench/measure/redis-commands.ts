import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';

/** Commands sent by every ioredis client of this process, counted on the client side. */
export interface ClientCommandCount {
  /** Commands sent (each command of a pipeline counts once). */
  total: number;
  /** Commands sent per lower-case command name (`evalsha`, `bzpopmin`, ...). */
  byName: Map<string, number>;
}

const counts = new Map<string, number>();
/** Script SHA1 -> name, so that EVALSHA calls of known scripts are counted per script. */
const scriptNames = new Map<string, string>();
let total = 0;
let installed = false;

/**
 * Counts every command any ioredis `Redis` client of this process sends, by wrapping
 * `Redis.prototype.sendCommand` once. Redis's own `INFO commandstats` also counts the commands a
 * Lua script runs inside the server, so it cannot tell round trips from script steps; this can.
 * bottleneck and BullMQ load the same ioredis module, so their clients are counted too.
 */
export function installCommandCounter(): void {
  if (installed) return;
  installed = true;
  type Command = { name: string; args?: unknown[] };
  type Send = (this: Redis, command: Command, ...rest: unknown[]) => unknown;
  const proto = Redis.prototype as unknown as { sendCommand: Send };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]) {
    // A command given to a closed or reconnecting client is rejected or queued and sent (and
    // counted) later: only a ready client's commands reach Redis now.
    if (this.status !== 'ready') return original.call(this, command, ...rest);
    total += 1;
    let name = String(command.name).toLowerCase();
    const script = name === 'evalsha' ? scriptNames.get(String(command.args?.[0])) : undefined;
    if (script) name = `evalsha ${script}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
}

/**
 * Names the Lua scripts of a folder (`acquire.lua` -> `acquire`) by the SHA1 ioredis sends with
 * EVALSHA, so that the breakdown shows which script each round trip ran.
 * @param dir - a folder of `.lua` files registered verbatim with `defineCommand`
 */
export function nameScripts(dir: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
    const sha = createHash('sha1')
      .update(readFileSync(join(dir, file), 'utf8'))
      .digest('hex');
    scriptNames.set(sha, basename(file, '.lua'));
  }
}

/**
 * A copy of the counters now.
 * @returns the total and the per-name counts
 */
export function clientCommandCount(): ClientCommandCount {
  return { total, byName: new Map(counts) };
}

/**
 * The commands sent between two snapshots, per name, largest first.
 * @returns name and count pairs
 */
export function commandDelta(before: ClientCommandCount, after: ClientCommandCount): Array<[string, number]> {
  const delta: Array<[string, number]> = [];
  for (const [name, n] of after.byName) {
    const d = n - (before.byName.get(name) ?? 0);
    if (d > 0) delta.push([name, d]);
  }
  return delta.sort((a, b) => b[1] - a[1]);
}

import { createHash } from 'node:crypto';
import type { StartRunInput } from '../types.js';

/**
 * JSON with object keys sorted, so that two inputs equal as data digest alike whatever the order
 * their keys were written in. Undefined fields are left out, as `JSON.stringify` does.
 */
function canonicalJson(value: unknown): string {
  // A Date (a metadata field, a schedule) digests as its instant, not as an empty object.
  if (value instanceof Date) return JSON.stringify(value.getTime());
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A digest of everything that decides what a run does: its business, concurrency, caller id,
 * leads (in order) and any policy field. Stored with the run, it tells a replay of `startRun`
 * (same `runId`, same input) from a conflicting reuse of the id without reading the jobs back.
 * `runId` and `allowDuplicateNumbers` are left out: they change nothing of the run once written.
 * Leads are hashed one at a time, so a large run is never serialized whole.
 * @param input - a validated `startRun` input
 * @returns the hex SHA-256 digest, prefixed with its format version
 */
export function runInputDigest(input: StartRunInput): string {
  const { leads, runId: _runId, allowDuplicateNumbers: _allow, ...run } = input;
  const hash = createHash('sha256');
  hash.update(canonicalJson(run));
  for (const lead of leads) hash.update(`\n${canonicalJson(lead)}`);
  return `v1:${hash.digest('hex')}`;
}

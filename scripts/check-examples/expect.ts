/**
 * One check of scripts/check-examples.ts: prints it as passed, or throws with what was seen.
 * @param detail - printed on failure (an HTTP answer, an output tail)
 * @throws Error when `ok` is false
 */
export function expect(ok: boolean, what: string, detail?: unknown): void {
  if (!ok) {
    const seen = typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2);
    throw new Error(`${what}: FAILED${detail === undefined ? '' : `\n${seen}`}`);
  }
  console.log(`  ok  ${what}`);
}

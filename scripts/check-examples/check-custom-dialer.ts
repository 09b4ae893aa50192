/**
 * Smoke check of examples/custom-dialer: it runs 8 leads against its fake provider and exits by
 * itself. Each of the provider's failure rules must show in the jobs table it prints.
 */
import { assertNothingLeft, startExample } from './child.js';
import { expect } from './expect.js';

export async function checkCustomDialer(): Promise<void> {
  const example = startExample('custom-dialer', 'examples/custom-dialer/custom-dialer.ts', [], {});
  try {
    const code = await example.exited(90_000);
    const out = example.output();
    expect(code === 0, 'custom-dialer exits 0', out.slice(-2000));
    expect(/run completed:/.test(out), 'the run completed', out.slice(-2000));
    expect(/OUTBOUND_DIAL_FAILED/.test(out) && /invalid_number/.test(out), 'the refused number failed', '');
    expect(/OUTBOUND_DIAL_RETRY/.test(out), 'the 503 was retried', '');
    expect(/busy:\s*1\b/.test(out), 'the busy number ended busy', out.slice(-1500));
    expect(/completed:\s*6\b/.test(out), 'the six others completed', out.slice(-1500));
    expect(/fetchCall\(VC[0-9a-f]+\):/.test(out), 'fetchCall answered', '');
    await assertNothingLeft(example);
  } finally {
    example.killGroup();
  }
}

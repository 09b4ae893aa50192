import { afterEach, describe, expect, it } from 'vitest';
import { IdempotencyConflictError, ValidationError } from '../../src/errors.js';
import type { StartRunInput } from '../../src/types.js';
import { leads, type QueueFixture, startQueue } from '../support/queue-fixture.js';
import { RecordingDialer } from '../support/recording-dialer.js';

describe('startRun validation (guarantee 7)', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function rejected(input: unknown): Promise<ValidationError> {
    fx ??= await startQueue(new RecordingDialer());
    const error = await fx.queue.startRun(input as StartRunInput).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const runs = await fx.db.selectFrom('oq_runs').select('id').execute();
    const jobs = await fx.db.selectFrom('oq_jobs').select('id').execute();
    expect(runs).toEqual([]);
    expect(jobs).toEqual([]);
    return error as ValidationError;
  }

  it('names each bad row and writes nothing', async () => {
    const input = {
      businessId: 'v',
      concurrency: 3,
      leads: [
        { to: '+14155550101', leadId: 'a' },
        { to: '4155550102', leadId: 'b' },
        { to: '+1415555', leadId: 'c' },
        { to: '+14155550104', leadId: 'a' },
        { to: '+14155550105', leadId: 'e', from: 'me' },
      ],
    };
    const error = await rejected(input);
    expect(error.issues).toEqual([
      expect.objectContaining({ row: 1, field: 'to' }),
      expect.objectContaining({ row: 2, field: 'to' }),
      expect.objectContaining({ row: 3, field: 'leadId' }),
      expect.objectContaining({ row: 4, field: 'from' }),
    ]);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('row 1 to');
  });

  it.each([
    ['zero concurrency', { concurrency: 0 }, 'concurrency'],
    ['fractional concurrency', { concurrency: 1.5 }, 'concurrency'],
    ['string concurrency', { concurrency: '3' }, 'concurrency'],
    ['empty lead list', { leads: [] }, 'leads'],
    ['no lead list', { leads: undefined }, 'leads'],
    ['empty business id', { businessId: '' }, 'businessId'],
    ['bad default caller id', { from: '+1' }, 'from'],
  ])('rejects %s', async (_name, patch, field) => {
    const error = await rejected({ businessId: 'v', concurrency: 2, leads: leads(2), ...patch });
    expect(error.issues.map((i) => i.field)).toContain(field);
  });

  it('rejects a row with a bad lead in the middle of a large run, writing nothing', async () => {
    const many = leads(5000);
    many[4321] = { to: '+1 nope' };
    const error = await rejected({ businessId: 'v', concurrency: 5, leads: many });
    expect(error.issues).toEqual([expect.objectContaining({ row: 4321, field: 'to' })]);
  });

  it('rejects two leads with the same number, naming both rows, unless allowed', async () => {
    const input = {
      businessId: 'v',
      concurrency: 2,
      leads: [{ to: '+14155550101' }, { to: '+14155550102' }, { to: '+14155550101' }],
    };
    const error = await rejected(input);
    expect(error.issues).toEqual([expect.objectContaining({ row: 2, field: 'to', duplicateOf: 0 })]);
    expect(error.issues[0]?.message).toContain('duplicates row 0');
    await rejected({ ...input, allowDuplicateNumbers: 'yes' });
    const run = await fx!.queue.startRun({ ...input, allowDuplicateNumbers: true });
    expect(run.total).toBe(3);
  });
});

describe('startRun idempotency on runId', () => {
  let fx: QueueFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  const input = (patch: Partial<StartRunInput> = {}): StartRunInput => ({
    businessId: 'i',
    concurrency: 1,
    leads: leads(3),
    runId: 'client-key-1',
    ...patch,
  });

  it('same id and same input: the same run, created false, no duplicate jobs', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 5 }));
    const first = await fx.queue.startRun(input());
    expect(first.created).toBe(true);
    // The same data with its keys in another order is the same input.
    const reordered = input().leads.map(({ metadata, leadId, to }) => ({ metadata, leadId, to }));
    const again = await fx.queue.startRun({ ...input(), leads: reordered });
    expect(again).toMatchObject({ runId: first.runId, created: false, total: 3 });
    const jobs = await fx.db.selectFrom('oq_jobs').select('id').execute();
    expect(jobs).toHaveLength(3);
  });

  it.each([
    ['another business', { businessId: 'other' }],
    ['another concurrency', { concurrency: 2 }],
    ['other leads', { leads: leads(3, 100) }],
    ['one lead more', { leads: leads(4) }],
    ['other metadata', { leads: leads(3).map((l, i) => (i === 1 ? { ...l, metadata: { n: 'x' } } : l)) }],
    ['another caller id', { from: '+14155550100' }],
  ])('same id with %s: IdempotencyConflictError, nothing written', async (_name, patch) => {
    fx = await startQueue(new RecordingDialer({ durationMs: 5 }));
    await fx.queue.startRun(input());
    const error = await fx.queue.startRun(input(patch)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', runId: 'client-key-1' });
    expect(await fx.db.selectFrom('oq_jobs').select('id').execute()).toHaveLength(3);
    expect(await fx.db.selectFrom('oq_runs').select('id').execute()).toHaveLength(1);
  });

  it('a run written before digests were kept is compared by its record', async () => {
    fx = await startQueue(new RecordingDialer({ durationMs: 5 }));
    await fx.queue.startRun(input());
    await fx.db.updateTable('oq_runs').set({ input_digest: null }).execute();
    expect((await fx.queue.startRun(input())).created).toBe(false);
    await expect(fx.queue.startRun(input({ concurrency: 2 }))).rejects.toThrow(IdempotencyConflictError);
  });
});

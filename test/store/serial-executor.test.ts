import { describe, expect, it } from 'vitest';
import { SerialExecutor } from '../../src/store/kysely/serial-executor.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('SerialExecutor', () => {
  it('runs tasks one at a time, in the order they were submitted', async () => {
    const serial = new SerialExecutor();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const task = (name: string, ms: number) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${name}`);
      running--;
      return name;
    };
    // The first task is the slowest: a later one must still wait for it.
    const results = await Promise.all([
      serial.run(task('a', 20)),
      serial.run(task('b', 0)),
      serial.run(task('c', 5)),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('starts a task only when its predecessor has settled', async () => {
    const serial = new SerialExecutor();
    const gate = deferred();
    let secondStarted = false;
    const first = serial.run(() => gate.promise);
    const second = serial.run(async () => {
      secondStarted = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(secondStarted).toBe(false);
    gate.resolve();
    await Promise.all([first, second]);
    expect(secondStarted).toBe(true);
  });

  it('passes a failing task its error and runs the next task anyway', async () => {
    const serial = new SerialExecutor();
    const failed = serial.run(async () => {
      throw new Error('boom');
    });
    const thrownSync = serial.run((): Promise<string> => {
      throw new Error('sync boom');
    });
    const next = serial.run(async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    await expect(thrownSync).rejects.toThrow('sync boom');
    await expect(next).resolves.toBe('next');
  });

  it('queues a task submitted while others run behind all of them', async () => {
    const serial = new SerialExecutor();
    const order: number[] = [];
    let late: Promise<void> | undefined;
    const tasks = Array.from({ length: 50 }, (_, i) =>
      serial.run(async () => {
        order.push(i);
        // Submitted from inside the first task, not awaited (awaiting it would wait on itself).
        if (i === 0) late = serial.run(async () => void order.push(50));
        await Promise.resolve();
      }),
    );
    await Promise.all(tasks);
    await late;
    expect(order).toEqual(Array.from({ length: 51 }, (_, i) => i));
  });
});

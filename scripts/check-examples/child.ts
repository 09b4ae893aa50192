/**
 * Runs an example as a child process for scripts/check-examples.ts: in its own process group (so
 * that the workers it forks are stopped with it), with its output kept and echoed with a prefix,
 * and with a way to wait for a line or the exit under a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `pattern` in its output; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves with its exit code (or signal name); rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | string>;
  /** SIGKILLs its whole process group; true when something was still alive to kill. */
  killGroup(): boolean;
}

const children = new Set<Child>();
// Whatever way this script ends, no example is left running.
process.on('exit', () => {
  for (const child of children) child.killGroup();
});

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts `node --import tsx <file> ...args`, as `npx tsx` would but with no wrapper process
 * between us and the example, so that signals reach it directly.
 */
export function startExample(name: string, file: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const added = chunk.toString('utf8');
    text += added;
    if (process.env.CHECK_EXAMPLES_QUIET !== '1') {
      for (const line of added.split('\n')) if (line) console.log(`  [${name}] ${line}`);
    }
    for (const wake of waiters) wake();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exit = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? 'unknown');
    });
  });

  const withDeadline = <T>(what: string, timeoutMs: number, body: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: no ${what} within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([body, timeout]).finally(() => clearTimeout(timer));
  };

  const child: Child = {
    name,
    process: proc,
    output: () => text,
    waitFor(pattern, timeoutMs) {
      const found = new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) {
            waiters.delete(check);
            resolve(match);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`${name} exited before printing ${pattern}`));
          }
        };
        waiters.add(check);
        check();
      });
      return withDeadline(String(pattern), timeoutMs, found);
    },
    exited: (timeoutMs) => withDeadline('exit', timeoutMs, exit),
    killGroup() {
      if (proc.pid === undefined || !groupAlive(proc.pid)) return false;
      process.kill(-proc.pid, 'SIGKILL');
      return true;
    },
  };
  children.add(child);
  return child;
}

/**
 * Fails when anything of the child's process group outlives it by more than a few seconds (a
 * worker left behind), and kills what is left either way. The grace period is for tsx's esbuild
 * service, which exits on its own once its parent is gone.
 * @throws Error naming the child
 */
export async function assertNothingLeft(child: Child, graceMs = 5_000): Promise<void> {
  const pid = child.process.pid;
  const deadline = Date.now() + graceMs;
  while (pid !== undefined && groupAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (child.killGroup()) throw new Error(`${child.name} left processes behind (killed them)`);
}

import { fork } from 'node:child_process';

/**
 * Runs a TypeScript module in a child Node process with the same loaders as this one (tsx and the
 * `.lua` loader come with `process.execArgv`) and returns the first message it sends over IPC.
 * A child of its own gives a clean peak RSS for what it measures.
 * @param modulePath - absolute path of the module
 * @param args - its command-line arguments
 * @param timeoutMs - longest it may run
 * @returns the message
 * @throws Error when the child exits without sending one, or runs too long
 */
export function runInChild<T>(modulePath: string, args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(modulePath, args, { execArgv: process.execArgv, stdio: 'inherit' });
    let message: T | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${modulePath} ran longer than ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', (m) => {
      message = m as T;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (message !== undefined) resolve(message);
      else reject(new Error(`${modulePath} exited with code ${code} and no result`));
    });
  });
}

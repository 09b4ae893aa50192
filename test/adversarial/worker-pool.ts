import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appendLog } from './call-log.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 8_000;

/** Settings every worker of a pool gets (see worker.ts). */
export interface WorkerSettings {
  dbUrl: string;
  redisUrl: string;
  redisPrefix: string;
  providerUrl: string;
  logFile: string;
  leaseMs: number;
  /** The queue's `dialsPerSecond`, when set. */
  dialsPerSecond?: number;
  /** A file the test writes to make workers stall between a claim and its `dial()` (see worker.ts). */
  controlFile?: string;
}

/** One worker process. */
export interface WorkerHandle {
  pid: number;
  /** Port of its status-webhook server. */
  port: number;
  child: ChildProcess;
  /** Resolves when it has exited. */
  exited: Promise<void>;
  /** How it ended, once it has: `killed` by the test, `stopped` by the test, or `died` on its own. */
  fate?: 'killed' | 'stopped' | 'died';
  /** The last output it wrote, for failure messages. */
  output(): string;
}

const everyChild = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Whatever happens to the test, no worker outlives it (SIGKILL, synchronous, on exit). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of everyChild) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

/**
 * Starts, kills and stops worker processes, and knows which are alive. Workers also exit on their
 * own when the IPC channel to this process closes, so they never outlive a crashed test.
 */
export class WorkerPool {
  private readonly workers: WorkerHandle[] = [];

  constructor(private readonly settings: WorkerSettings) {
    installExitHook();
  }

  /** Every worker ever started. */
  get all(): readonly WorkerHandle[] {
    return this.workers;
  }

  /** Workers that are running and have not been told to go. */
  live(): WorkerHandle[] {
    return this.workers.filter((w) => w.fate === undefined);
  }

  /** Workers that exited without being killed or stopped (a crash is a finding). */
  died(): WorkerHandle[] {
    return this.workers.filter((w) => w.fate === 'died');
  }

  /**
   * Starts a worker and waits until it serves webhooks (it starts dispatching right after).
   * @returns its handle
   * @throws Error when it does not become ready in time
   */
  async spawn(): Promise<WorkerHandle> {
    const s = this.settings;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_FILE], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        OQ_DB_URL: s.dbUrl,
        OQ_REDIS_URL: s.redisUrl,
        OQ_REDIS_PREFIX: s.redisPrefix,
        OQ_PROVIDER_URL: s.providerUrl,
        OQ_LOG_FILE: s.logFile,
        OQ_LEASE_MS: String(s.leaseMs),
        ...(s.dialsPerSecond === undefined ? {} : { OQ_DIALS_PER_SECOND: String(s.dialsPerSecond) }),
        ...(s.controlFile === undefined ? {} : { OQ_CONTROL_FILE: s.controlFile }),
      },
    });
    everyChild.add(child);
    let out = '';
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`worker did not become ready in ${READY_TIMEOUT_MS} ms: ${out}`));
      }, READY_TIMEOUT_MS);
      child.on('message', (message: { type?: string; port?: number }) => {
        if (message.type !== 'ready' || typeof message.port !== 'number') return;
        clearTimeout(timer);
        resolve(message.port);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker exited before it was ready (${code ?? signal}): ${out}`));
      });
    });
    const handle: WorkerHandle = { pid: child.pid!, port, child, exited, output: () => out };
    void exited.then(() => {
      handle.fate ??= 'died';
    });
    this.workers.push(handle);
    appendLog(s.logFile, { src: 'test', ev: 'worker:spawned', t: Date.now(), pid: handle.pid });
    return handle;
  }

  /** Kills a worker with SIGKILL (a crash: nothing of it runs any more) and waits for it to be gone. */
  async kill(worker: WorkerHandle): Promise<void> {
    if (worker.fate !== undefined) return;
    worker.fate = 'killed';
    appendLog(this.settings.logFile, { src: 'test', ev: 'worker:killed', t: Date.now(), pid: worker.pid });
    worker.child.kill('SIGKILL');
    await worker.exited;
  }

  /** Stops every live worker (SIGTERM, then SIGKILL after a deadline) and waits for them. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        w.fate ??= 'stopped';
        w.child.kill('SIGTERM');
        const timer = setTimeout(() => w.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await w.exited;
        clearTimeout(timer);
      }),
    );
  }
}

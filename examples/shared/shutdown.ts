/**
 * Graceful shutdown of an example server on SIGINT or SIGTERM: stop taking requests first (the
 * Twilio webhook among them: a callback handled later could still hand a slot on and start a
 * call), then `queue.close()`, then exit 0.
 */
import type { Server } from 'node:http';

/** What to close, in this order. */
export interface ShutdownSteps {
  /** The HTTP server: its connections still open after `graceMs` are cut. */
  server: Server;
  /** Stops taking requests and resolves once those under way are answered (default: `server.close`). */
  closeServer?: () => Promise<void>;
  /** Closes the queue and its database. */
  closeQueue: () => Promise<void>;
  /** How long requests under way may take to finish (default 2,000 ms). */
  graceMs?: number;
}

/**
 * Closes the example on the first SIGINT or SIGTERM; exits 0 once closed, 1 if closing failed.
 * @param steps - the server and the queue
 */
export function closeOnSignals(steps: ShutdownSteps): void {
  const { server, closeQueue, graceMs = 2_000 } = steps;
  const closeServer =
    steps.closeServer ??
    (() => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))));
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: closing`);
    // The dashboard's event streams never end on their own: cut whatever is still open by then.
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    try {
      await closeServer();
      clearTimeout(cut);
      await closeQueue();
      process.exit(0);
    } catch (err) {
      console.error('shutdown failed:', err);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

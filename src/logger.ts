/** A pino-compatible logger: each method takes structured fields and a message. */
export interface Logger {
  /** Logs detail only useful when debugging, such as a call event ignored as stale or duplicate. */
  debug(obj: Record<string, unknown>, msg: string): void;
  /** Logs a normal step: a run started, stopped or completed, a job dialed or queued, a slot freed. */
  info(obj: Record<string, unknown>, msg: string): void;
  /** Logs a problem the queue handles itself: a dial retried, a backend outage, an expired slot. */
  warn(obj: Record<string, unknown>, msg: string): void;
  /** Logs a failure the host should look at: a dialer unavailable, a lock conflict, a throwing listener. */
  error(obj: Record<string, unknown>, msg: string): void;
}

const noop = (): void => {};

/** The default logger: says nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

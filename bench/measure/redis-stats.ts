import { RawRedisConnection } from './raw-redis.js';

/** What Redis itself says it executed, from `INFO commandstats` and `INFO clients`. */
export interface RedisServerStats {
  /** Commands executed, those run inside Lua scripts included, minus the probe's own INFO calls. */
  commands: number;
  /** Commands executed per command name (`evalsha`, `zadd`, ...). */
  byCommand: Map<string, number>;
  /** Client connections open now, the probe's own included. */
  connectedClients: number;
}

/**
 * The bench's window on the Redis server: INFO counters and FLUSHALL over one raw connection, so
 * that neither the client-side command counter nor `connected_clients` is disturbed by it.
 */
export class RedisProbe {
  /** INFO calls made so far: Redis counts them too, so they are taken out of every count. */
  private infoCalls = 0;

  private constructor(private readonly connection: RawRedisConnection) {}

  /**
   * @param port - the Redis server's port
   * @returns a probe with its connection open
   */
  static async open(port: number): Promise<RedisProbe> {
    return new RedisProbe(await RawRedisConnection.open(port));
  }

  /**
   * One `INFO` section as text.
   * @param section - e.g. `server`, `clients`, `commandstats`
   * @returns the section
   */
  info(section: string): Promise<string> {
    this.infoCalls += 1;
    return this.connection.command('INFO', section);
  }

  /**
   * Command counters and client count now.
   * @returns the counters
   */
  async stats(): Promise<RedisServerStats> {
    const text = await this.info('commandstats');
    const byCommand = new Map<string, number>();
    let commands = 0;
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const n = Number(match[2]);
      byCommand.set(match[1] ?? '?', n);
      commands += n;
    }
    // Redis counts an INFO after replying to it: the count includes every INFO before this one.
    const own = this.infoCalls - 1;
    return { commands: commands - own, byCommand, connectedClients: await this.connectedClients() };
  }

  /**
   * `connected_clients` now (this probe's connection included).
   * @returns the count
   */
  async connectedClients(): Promise<number> {
    const text = await this.info('clients');
    return Number(/^connected_clients:(\d+)/m.exec(text)?.[1] ?? 0);
  }

  /**
   * One field of `INFO server`, e.g. `redis_version`.
   * @returns its value, or undefined
   */
  async serverField(field: string): Promise<string | undefined> {
    const text = await this.info('server');
    return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
  }

  /** Empties the server between workloads. */
  async flush(): Promise<void> {
    await this.connection.command('FLUSHALL');
  }

  /** Closes the probe's connection. */
  close(): void {
    this.connection.close();
  }
}

/**
 * Samples `connected_clients` every `everyMs` until stopped and keeps the highest value: the
 * connections a system holds open while it works.
 */
export class ConnectionSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();

  /**
   * @param probe - the bench's Redis probe
   * @param everyMs - sampling period
   */
  constructor(
    private readonly probe: RedisProbe,
    private readonly everyMs = 200,
  ) {}

  /** Starts sampling (one sample at once). */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  /** Takes one sample now and waits for it. */
  async sampleNow(): Promise<void> {
    this.sample();
    await this.pending;
  }

  /**
   * Stops sampling.
   * @returns the highest `connected_clients` seen
   */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.pending;
    return this.peak;
  }

  private sample(): void {
    this.pending = this.pending.then(async () => {
      const connected = await this.probe.connectedClients().catch(() => 0);
      this.peak = Math.max(this.peak, connected);
    });
  }
}

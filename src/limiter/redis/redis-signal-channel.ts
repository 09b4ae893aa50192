import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import type { SlotSignal } from '../slot-limiter.js';

/** Options of {@link RedisSignalChannel}. */
export interface RedisSignalChannelOptions {
  /** The pub/sub channel the release script publishes on. */
  channel: string;
  /** The host's connection, duplicated when no subscriber connection is given. */
  redis: Redis | Cluster;
  /** A connection to subscribe with, owned by the host. */
  subscriber?: Redis | Cluster;
  logger: Logger;
}

type Listener = (signal: SlotSignal) => void;

function parseSignal(message: string): SlotSignal | undefined {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return undefined;
    const { key, promoted, handedOver, fence } = value as Record<string, unknown>;
    if (typeof key !== 'string' || !Array.isArray(promoted)) return undefined;
    if (!promoted.every((id): id is string => typeof id === 'string')) return undefined;
    if (handedOver !== true) return { key, promoted };
    return { key, promoted, handedOver, fence: typeof fence === 'number' ? fence : undefined };
  } catch {
    return undefined;
  }
}

/**
 * The promotions told by every process, through one subscriber connection for all keys (a
 * process with 10,000 businesses opens one connection, not 10,000). The connection is opened on
 * the first listener.
 */
export class RedisSignalChannel {
  private readonly listeners = new Set<Listener>();
  private connection: Redis | Cluster | undefined;
  private owned = false;
  private subscribed: Promise<void> | undefined;
  private closed = false;

  /**
   * @param options - channel, connections, logger
   */
  constructor(private readonly options: RedisSignalChannelOptions) {}

  /**
   * Adds a listener, subscribing on the first one.
   * @returns a function that removes it
   */
  add(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.subscribed && !this.closed) this.subscribed = this.open();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Resolves once the subscription is active (at once when nobody listens). A message published
   * before that is not received: listeners must not rely on signals alone.
   */
  whenSubscribed(): Promise<void> {
    return this.subscribed ?? Promise.resolve();
  }

  /** Ends the subscription; quits the connection only when this channel opened it. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    await this.subscribed;
    connection.removeListener('message', this.onMessage);
    if (this.owned) {
      await connection.quit().catch(() => connection.disconnect());
    } else {
      await connection.unsubscribe(this.options.channel).catch((err: unknown) => {
        this.options.logger.warn(
          { err, channel: this.options.channel },
          'OUTBOUND_LIMITER_UNSUBSCRIBE_FAILED',
        );
      });
    }
  }

  private async open(): Promise<void> {
    const { channel, redis, subscriber, logger } = this.options;
    const connection = subscriber ?? redis.duplicate();
    this.owned = !subscriber;
    this.connection = connection;
    connection.on('message', this.onMessage);
    if (this.owned) {
      // Without a listener ioredis prints every reconnection failure; the host's logger hears them.
      connection.on('error', (err: unknown) =>
        logger.warn({ err, channel }, 'OUTBOUND_LIMITER_SUBSCRIBER_ERROR'),
      );
    }
    try {
      // ioredis subscribes again by itself after a reconnection (autoResubscribe).
      await connection.subscribe(channel);
    } catch (err) {
      logger.error({ err, channel }, 'OUTBOUND_LIMITER_SUBSCRIBE_FAILED');
    }
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.options.channel) return;
    const signal = parseSignal(message);
    if (!signal) {
      this.options.logger.warn({ channel, message: message.slice(0, 200) }, 'OUTBOUND_LIMITER_BAD_SIGNAL');
      return;
    }
    this.deliver(signal);
  };

  /**
   * Tells this channel's listeners of a promotion, as a published signal would (used for the
   * promotions the limiter made for itself, which are not published).
   * @param signal - the key and the promoted jobs
   */
  deliver(signal: SlotSignal): void {
    for (const listener of this.listeners) {
      try {
        listener(signal);
      } catch (err) {
        this.options.logger.error({ err, business_id: signal.key }, 'OUTBOUND_LIMITER_LISTENER_FAILED');
      }
    }
  }
}

import type { OutboundQueue } from '../../queue/outbound-queue.js';
import type { OutboundQueueEventName, OutboundQueueEvents } from '../../queue/queue-events.js';

/** Listeners of some of a queue's events, by event name. */
export type QueueListeners = { [E in OutboundQueueEventName]?: (payload: OutboundQueueEvents[E]) => void };

/**
 * Adds `listeners` to the queue's events.
 * @returns removes every one of them
 */
export function listenTo(queue: OutboundQueue, listeners: QueueListeners): () => void {
  // Each listener is typed by its own name above; the loop over names cannot say so.
  const entries = Object.entries(listeners) as [OutboundQueueEventName, never][];
  for (const [name, listener] of entries) queue.on(name, listener);
  return () => {
    for (const [name, listener] of entries) queue.off(name, listener);
  };
}

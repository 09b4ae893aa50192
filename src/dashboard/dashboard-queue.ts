import type { OutboundQueue } from '../queue/outbound-queue.js';

/**
 * What the dashboard uses of an `OutboundQueue`: its public reads, run controls and events.
 * Any object with these methods will do (a queue wrapped to log or to restrict).
 */
export type DashboardQueue = Pick<
  OutboundQueue,
  | 'startRun'
  | 'getRun'
  | 'listRuns'
  | 'listJobs'
  | 'getJob'
  | 'pause'
  | 'resume'
  | 'stop'
  | 'getBusiness'
  | 'on'
  | 'off'
>;

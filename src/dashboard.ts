/**
 * `outbound-queue/dashboard`: an operator's page for the queue (runs, their progress, live calls
 * per business, jobs with their attempts; start, pause, resume and stop) with its JSON and
 * Server-Sent-Events API, served by one web-standard handler. See docs/dashboard.md.
 * @packageDocumentation
 */

export type { BusinessLoad } from './dashboard/business-load.js';
export type { BusinessView, JobsPage, RunsPage } from './dashboard/dashboard-api.js';
export type { DashboardHandler } from './dashboard/dashboard-handler.js';
export { createDashboardHandler } from './dashboard/dashboard-handler.js';
export type { DashboardHandlerOptions } from './dashboard/dashboard-options.js';
export type { DashboardQueue } from './dashboard/dashboard-queue.js';
export type { DashboardErrorBody, DashboardRefusalCode } from './dashboard/error-response.js';
export type { NodeHandlerOptions, NodeRequest } from './dashboard/node-handler.js';
export { toNodeHandler } from './dashboard/node-handler.js';
export type { DashboardAuthorize } from './dashboard/request-guards.js';

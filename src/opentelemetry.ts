/**
 * `outbound-queue/opentelemetry`: a queue's metrics and spans through the OpenTelemetry API
 * (`@opentelemetry/api`, an optional peer dependency; no SDK is bundled). See
 * docs/observability.md.
 * @packageDocumentation
 */

export type {
  OpenTelemetryInstrumentation,
  OpenTelemetryOptions,
} from './observability/opentelemetry/instrument-open-telemetry.js';
export { instrumentOpenTelemetry } from './observability/opentelemetry/instrument-open-telemetry.js';
export { ATTRIBUTE_NAMES, METRIC_NAMES, SPAN_NAMES } from './observability/opentelemetry/semantic-names.js';

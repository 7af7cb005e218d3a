import { SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource, detectResourcesSync, envDetectorSync } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config/env';

/*
 * OpenTelemetry tracing for one process (the API or a worker), configured by the standard OTEL_*
 * variables only (config/env.ts checks them). Spans are always made unless OTEL_SDK_DISABLED=true, so
 * logs and the file view carry trace ids and webhooks carry `traceparent`; they are sent only when an
 * OTLP endpoint is set, over OTLP/HTTP as protobuf (the spec's default) or JSON.
 */

export interface Tracing {
  /** False with OTEL_SDK_DISABLED=true: no spans, no propagation, and no workflow interceptors. */
  enabled: boolean;
  /** Where the worker's workflow spans (made in the sandbox, handed out through a sink) go too. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

export const DISABLED_TRACING: Tracing = {
  enabled: false,
  spanProcessor: new NoopSpanProcessor(),
  resource: Resource.empty(),
  shutdown: async () => undefined,
};

function exporterFor(telemetry: Config['telemetry']) {
  const url = telemetry.tracesUrl;
  if (url === undefined) return undefined;
  // Headers (OTEL_EXPORTER_OTLP_HEADERS) and timeouts are read by the exporters themselves.
  return telemetry.protocol === 'http/json'
    ? new OtlpJsonTraceExporter({ url })
    : new OtlpProtobufTraceExporter({ url });
}

/**
 * Starts the SDK for this process, before any Temporal connection or HTTP server exists, so every
 * span of the process has the provider and propagator. Call once per process, from its entry point.
 */
export function startTracing(telemetry: Config['telemetry'], defaultServiceName: string): Tracing {
  if (!telemetry.enabled) return DISABLED_TRACING;
  const exporter = exporterFor(telemetry);
  const spanProcessor = exporter ? new BatchSpanProcessor(exporter) : new NoopSpanProcessor();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the process's default name.
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': defaultServiceName }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    // Logs stay JSON on stdout (pino) and metrics Prometheus; the SDK would otherwise default both to OTLP.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, spanProcessor, resource, shutdown: () => sdk.shutdown() };
}

const activeSpan = (): Span | undefined => trace.getSpan(context.active());

/** The active span's trace id, or null outside any (sampled or not) span. */
export function currentTraceId(): string | null {
  const span = activeSpan();
  if (!span) return null;
  const { traceId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? traceId : null;
}

/** pino `mixin`: every log line written inside a span carries its ids, next to file and workflow ids. */
export function traceLogFields(): Record<string, string> {
  const span = activeSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!trace.isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * Runs an outgoing call in a client span whose context `fn` sends on (W3C `traceparent`), so the
 * receiver's own spans join the trace. The span records the call's failure; `fn` may add attributes.
 */
export function withClientSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (headers: Record<string, string>, span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer('intake').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const headers: Record<string, string> = {};
    propagation.inject(context.active(), headers);
    try {
      return await fn(headers, span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

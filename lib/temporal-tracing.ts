import { fileURLToPath } from 'node:url';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { Tracing } from './tracing';

/*
 * Trace propagation through Temporal (@temporalio/interceptors-opentelemetry): the client puts the
 * caller's span into the workflow's start headers, the workflow's spans carry it to each activity it
 * schedules (local ones too), and the activity's span is active while it runs. With no tracer provider
 * (OTEL_SDK_DISABLED=true) the client and activity interceptors make only non-recording spans and
 * inject nothing.
 */

/** Client side: every workflow start, signal, query and update carries the active span. */
export function tracingClientInterceptors(): WorkflowClientInterceptor[] {
  return [new OpenTelemetryWorkflowClientInterceptor()];
}

/** Worker side: each activity attempt runs inside a span whose parent is the workflow's. */
export const tracingActivityInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
  outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
});

/**
 * The workflow interceptors, bundled into the workflow code: the OpenTelemetry ones, behind the
 * `otel-tracing` patch so that runs recorded without them replay unchanged (workflows/tracing-interceptors.ts).
 */
export const WORKFLOW_TRACING_MODULES: readonly string[] = [
  fileURLToPath(new URL('../workflows/tracing-interceptors.ts', import.meta.url)),
];

/** The sink through which the sandboxed workflow hands its finished spans to this process's exporter. */
export function workflowTracingSinks(tracing: Tracing): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}

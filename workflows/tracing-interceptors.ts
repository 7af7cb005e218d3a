// The package's workflow-side entry (its root also exports the worker side, which is Node code); the
// `lib/` in its path is the package's, not this project's lib/ folder.
// eslint-disable-next-line no-restricted-imports
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
// eslint-disable-next-line no-restricted-imports
import { headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import {
  patched,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/**
 * The patch that turns tracing on for a run. Histories recorded without the OpenTelemetry interceptors
 * do not replay with them: their spans wrap each local activity, signal and the run itself in extra
 * promises, which moves when an update completes against a search-attribute upsert (a nondeterminism
 * error, shown by test/workflow/replay.test.ts). So a run is traced only when its history says it
 * was: new runs record this marker first thing, and runs recorded before it replay exactly as before.
 */
export const TRACING_PATCH = 'otel-tracing';

/**
 * The patch that stops wrapping each scheduled activity in a `StartActivity` span of its own: the
 * activity gets the run's span context in its headers and its `RunActivity` span is the run's child.
 * Each span made in the sandbox costs several promises, and the SDK captures a source-mapped stack
 * trace for every promise a workflow makes; those spans were about half the spans of an upload and
 * most of tracing's cost (`BENCH_ONLY=observability`, CPU per file off/on: 0.93 with them, 0.95–0.96
 * without). Queue
 * wait stays visible as the SDK's schedule-to-start metric. Traced runs recorded before this patch
 * keep their StartActivity spans, which their histories' promise order depends on.
 */
export const ACTIVITY_CONTEXT_PATCH = 'otel-activity-context';

type ScheduleInput = { headers: Parameters<typeof headersWithContext>[0] };
const withRunContext = <T extends ScheduleInput>(input: T): T => ({
  ...input,
  headers: headersWithContext(input.headers),
});

/**
 * Bundled as a workflow interceptor module (workers/create-worker.ts). Every call goes straight
 * through until the run has decided, once, on its first `execute` or signal, whether it is traced;
 * queries, update validators and log attributes never decide (they may not issue a marker).
 */
export const interceptors = (): WorkflowInterceptors => {
  let otel:
    | {
        inbound: OpenTelemetryInboundInterceptor;
        outbound: OpenTelemetryOutboundInterceptor;
        internals: OpenTelemetryInternalsInterceptor;
        spanPerActivity: boolean;
      }
    | null
    | undefined;
  const decide = () => {
    if (otel === undefined) {
      otel = patched(TRACING_PATCH)
        ? {
            inbound: new OpenTelemetryInboundInterceptor(),
            outbound: new OpenTelemetryOutboundInterceptor(),
            internals: new OpenTelemetryInternalsInterceptor(),
            spanPerActivity: !patched(ACTIVITY_CONTEXT_PATCH),
          }
        : null;
    }
    return otel;
  };
  const decided = () => otel ?? null;

  const inbound: WorkflowInboundCallsInterceptor = {
    execute: (input, next) => decide()?.inbound.execute(input, next) ?? next(input),
    handleSignal: (input, next) => decide()?.inbound.handleSignal(input, next) ?? next(input),
    handleUpdate: (input, next) => decided()?.inbound.handleUpdate(input, next) ?? next(input),
    validateUpdate: (input, next) => {
      const traced = decided();
      if (traced) traced.inbound.validateUpdate(input, next);
      else next(input);
    },
    handleQuery: (input, next) => decided()?.inbound.handleQuery(input, next) ?? next(input),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => {
      const traced = decided();
      if (!traced) return next(input);
      return traced.spanPerActivity ? traced.outbound.scheduleActivity(input, next) : next(withRunContext(input));
    },
    scheduleLocalActivity: (input, next) => {
      const traced = decided();
      if (!traced) return next(input);
      return traced.spanPerActivity ? traced.outbound.scheduleLocalActivity(input, next) : next(withRunContext(input));
    },
    startChildWorkflowExecution: (input, next) =>
      decided()?.outbound.startChildWorkflowExecution(input, next) ?? next(input),
    continueAsNew: (input, next) => decided()?.outbound.continueAsNew(input, next) ?? next(input),
    signalWorkflow: (input, next) => decided()?.outbound.signalWorkflow(input, next) ?? next(input),
    getLogAttributes: (input, next) => decided()?.outbound.getLogAttributes(input, next) ?? next(input),
    getMetricTags: (input, next) => decided()?.outbound.getMetricTags(input, next) ?? next(input),
  };
  const internals: WorkflowInternalsInterceptor = {
    dispose: (input, next) => {
      const traced = decided();
      if (traced) void traced.internals.dispose(input, next);
      else next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};

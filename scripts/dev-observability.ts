import type { Config } from '../config/env';

/** The lines `npm run dev` prints about metrics and traces: every metrics URL, and where spans go. */
export function observabilityLines(config: Config, apiUrl: string, workers: readonly string[]): string[] {
  if (!config.metrics.enabled) return ['  Metrics        off (INTAKE_METRICS=false)'];
  const host = ['0.0.0.0', '::'].includes(config.metrics.workerHost) ? '127.0.0.1' : config.metrics.workerHost;
  const access = config.metrics.token ? 'Authorization: Bearer $INTAKE_METRICS_TOKEN' : 'open in development';
  const lines = [`  ${'Metrics API'.padEnd(15)}${apiUrl}/metrics   (${access})`];
  for (const worker of workers) {
    lines.push(
      `  ${`Metrics ${worker}`.padEnd(15)}http://${host}:${config.metrics.workerPort}/metrics   (Intake's and the Temporal SDK's)`,
    );
  }
  const traces = config.telemetry.enabled
    ? (config.telemetry.tracesUrl ?? 'made but not exported: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. a local Jaeger)')
    : 'off (OTEL_SDK_DISABLED=true)';
  lines.push(`  Traces         ${traces}`);
  return lines;
}

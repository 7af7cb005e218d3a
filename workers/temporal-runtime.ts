import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogLevel, LogMetadata } from '@temporalio/worker';
import type { Logger } from 'pino';

/**
 * Installs the Temporal runtime once, before any connection: the SDK's own logs (worker state, activity
 * failures, workflow `log`) go through pino, and its metrics to a Prometheus exporter on
 * `sdkMetricsAddress` (read back by workers/metrics-server.ts). A runtime installed already would keep
 * its own logger and no metrics, so that error is not swallowed: it stops the process.
 */
export function installRuntime(log: Logger, sdkMetricsAddress?: string): void {
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  const sdkLog = log.child({ component: 'temporal' });
  const threshold = log.levelVal <= 20 ? 'DEBUG' : log.levelVal <= 30 ? 'INFO' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(
      threshold,
      ({ level, message, meta }: { level: LogLevel; message: string; meta?: LogMetadata }) => {
        // The SDK puts a failure under `error`; pino serialises an Error (message, stack, cause) only
        // under `err`, and would log `error` as {}, hiding why an activity or workflow failed.
        const { error, ...rest } = meta ?? {};
        sdkLog[levels[level]](error instanceof Error ? { ...rest, err: error } : (meta ?? {}), message);
      },
    ),
    ...(sdkMetricsAddress && {
      telemetryOptions: {
        metrics: {
          // Prometheus conventions: counters end in _total, durations are in seconds.
          prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true, useSecondsForDurations: true },
        },
      },
    }),
  });
}

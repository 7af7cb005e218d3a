import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { metricsAccess } from '../../lib/metrics-access';

const TOKEN = 'metrics-token-0123456789';
const metricsOf = (env: Record<string, string>) => loadConfig(env).metrics;

describe('who may read the metrics endpoints', () => {
  it('without a token they are open in development and closed in production', () => {
    expect(metricsAccess(metricsOf({}), undefined)).toBe('allowed');
    const production = metricsOf({
      NODE_ENV: 'production',
      INTAKE_PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      INTAKE_CODEC_TOKEN: 'codec-token-0123456789abcdef',
    });
    expect(metricsAccess(production, undefined)).toBe('token_required');
    expect(metricsAccess(production, `Bearer ${TOKEN}`)).toBe('token_required');
  });

  it('with a token only a scrape that sends it as a bearer token gets in', () => {
    const metrics = metricsOf({ INTAKE_METRICS_TOKEN: TOKEN });
    expect(metricsAccess(metrics, `Bearer ${TOKEN}`)).toBe('allowed');
    expect(metricsAccess(metrics, `bearer ${TOKEN}`)).toBe('allowed');
    expect(metricsAccess(metrics, undefined)).toBe('unauthorized');
    expect(metricsAccess(metrics, `Bearer ${TOKEN}x`)).toBe('unauthorized');
    expect(metricsAccess(metrics, TOKEN)).toBe('unauthorized');
  });

  it('refuses a short token and a bad OTLP protocol at start-up, naming the variable', () => {
    expect(() => loadConfig({ INTAKE_METRICS_TOKEN: 'short' })).toThrow(/INTAKE_METRICS_TOKEN: must be at least 16/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
  });

  it('exports spans only when an OTLP endpoint is set, to its /v1/traces', () => {
    expect(loadConfig({}).telemetry).toMatchObject({ enabled: true, tracesUrl: undefined, protocol: 'http/protobuf' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }).telemetry.tracesUrl).toBe(
      'http://jaeger:4318/v1/traces',
    );
    expect(loadConfig({ OTEL_SDK_DISABLED: 'true' }).telemetry.enabled).toBe(false);
  });
});

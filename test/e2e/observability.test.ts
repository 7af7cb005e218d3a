import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntakeClient, type IntakeClient } from '../../api/client';
import { startWebhookReceiver, type WebhookReceiver } from '../../infra/webhook-receiver';
import { startIntakeProcesses, type IntakeProcesses } from '../support/intake-processes';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../infra/otlp-receiver';
import { eicarTestFile, photoWithExif } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';
import { opsMetricNames } from '../support/ops-files';
import { parsePrometheusText, type PrometheusFamily } from '../support/prometheus-text';

/*
 * Observability as an operator sees it: the API and a worker run as their own processes on the real
 * stack, export spans over OTLP/HTTP to a receiver here (the API as JSON, the worker as protobuf, so
 * both encodings are exercised), and serve Prometheus text that a real parser reads.
 */

const TENANT = 'observability-e2e';
const API_KEY = 'observability-e2e-key-0001';
const METRICS_TOKEN = randomBytes(16).toString('hex');
const STEPS = ['scan', 'validate', 'resize', 'store', 'index'] as const;

let otlp: OtlpReceiver;
let receiver: WebhookReceiver;
let intake: IntakeProcesses;
let client: IntakeClient;

// The caller's trace: the upload request arrives with this W3C traceparent.
const callerTraceId = randomBytes(16).toString('hex');
const callerSpanId = randomBytes(8).toString('hex');
let fileId: string;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  receiver = await startWebhookReceiver();
  intake = await startIntakeProcesses({
    env: {
      INTAKE_API_KEYS: `${TENANT}=${API_KEY}`,
      INTAKE_METRICS_TOKEN: METRICS_TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      // Spans leave within 200 ms instead of the batch processor's 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
    apiEnv: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    // At debug the SDK logs each activity attempt, which must carry the trace too.
    workerEnv: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', INTAKE_LOG_LEVEL: 'debug' },
  });
  client = createIntakeClient({ baseUrl: intake.apiUrl, apiKey: API_KEY });
  await client.createWebhook({ url: receiver.url('/tenant') });

  const image = await photoWithExif({ width: 640, height: 480, orientation: 1 });
  const response = await fetch(`${intake.apiUrl}/v1/files?filename=photo.jpg`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'image/jpeg',
      traceparent: `00-${callerTraceId}-${callerSpanId}-01`,
    },
    body: image,
  });
  expect(response.status).toBe(202);
  fileId = ((await response.json()) as { id: string }).id;
  const file = await client.waitForFile(fileId, 90_000);
  expect(file.status).toBe('READY');
  await receiver.waitFor('file.ready', (w) => w.body.includes(fileId), 60_000);
}, 300_000);

afterAll(async () => {
  await intake?.stop();
  await Promise.all([otlp?.close(), receiver?.close()]);
});

async function scrape(url: string): Promise<PrometheusFamily[]> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status, url).toBe(200);
  return parsePrometheusText(await response.text());
}

const family = (families: PrometheusFamily[], name: string) => {
  const found = families.find((f) => f.name === name);
  expect(found, `metric ${name}`).toBeDefined();
  return found!;
};
const sample = (f: PrometheusFamily, labels: Record<string, string>) =>
  f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

describe('metrics', () => {
  it('both endpoints refuse a scrape without the metrics token', async () => {
    for (const url of [`${intake.apiUrl}/metrics`, intake.workerMetricsUrl]) {
      const response = await fetch(url);
      expect(response.status, url).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  it('after one upload the API counts one accepted upload, its bytes and its request, and every dependency up', async () => {
    const api = await scrape(`${intake.apiUrl}/metrics`);
    const accepted = sample(family(api, 'intake_uploads_accepted_total'), { tenant: TENANT, source: 'http' });
    expect(accepted.map((m) => Number(m.value))).toEqual([1]);
    expect(Number(family(api, 'intake_upload_bytes_total').metrics[0]?.value)).toBeGreaterThan(1000);
    const posts = sample(family(api, 'http_request_duration_seconds'), {
      method: 'POST',
      route: '/v1/files',
      status: '202',
    });
    expect(posts.map((m) => Number(m.count))).toEqual([1]);
    // Route templates only: no file id ever becomes a label value.
    const routes = family(api, 'http_request_duration_seconds').metrics.map((m) => m.labels?.route ?? '');
    expect(routes.filter((route) => route.includes(fileId))).toEqual([]);
    const up = family(api, 'intake_dependency_up').metrics.map((m) => [m.labels?.dependency, Number(m.value)]);
    expect(Object.fromEntries(up)).toEqual({ temporal: 1, s3: 1, postgres: 1, clamd: 1 });
    expect(family(api, 'process_cpu_user_seconds_total').metrics).toHaveLength(1);
  });

  it("the worker shows one READY outcome, one clean scan, one delivered webhook and one observation per step, beside the Temporal SDK's own series", async () => {
    const worker = await scrape(intake.workerMetricsUrl);
    expect(sample(family(worker, 'intake_outcomes_total'), { status: 'READY' }).map((m) => Number(m.value))).toEqual([
      1,
    ]);
    expect(
      sample(family(worker, 'intake_scan_verdicts_total'), { verdict: 'clean' }).map((m) => Number(m.value)),
    ).toEqual([1]);
    expect(
      sample(family(worker, 'intake_webhook_deliveries_total'), { result: 'delivered' }).map((m) => Number(m.value)),
    ).toEqual([1]);
    const steps = family(worker, 'intake_step_duration_seconds');
    for (const step of STEPS) {
      expect(
        sample(steps, { step, outcome: 'ok' }).map((m) => Number(m.count)),
        step,
      ).toEqual([1]);
    }
    // The Temporal SDK's exporter, read through the same endpoint.
    expect(family(worker, 'temporal_workflow_task_schedule_to_start_latency').type).toBe('HISTOGRAM');
    expect(family(worker, 'temporal_activity_execution_latency').metrics.length).toBeGreaterThan(0);
  });
});

describe('traces', () => {
  let spans: ReceivedSpan[];
  const byName = (name: string) => spans.filter((s) => s.name === name);
  const one = (name: string) => {
    const found = byName(name);
    expect(
      found.map((s) => s.name),
      name,
    ).toEqual([name]);
    return found[0]!;
  };

  beforeAll(async () => {
    // Deleting the file ends its workflow, and with it the workflow's own span.
    await client.deleteFile(fileId);
    await waitUntil(
      'the workflow span is exported',
      () => otlp.spans.find((s) => s.traceId === callerTraceId && s.name === 'RunWorkflow:uploadWorkflow'),
      { timeoutMs: 60_000 },
    );
    spans = otlp.spans.filter((s) => s.traceId === callerTraceId);
  }, 120_000);

  it('the file view names the trace the upload request came with', async () => {
    expect((await client.getFile(fileId)).traceId).toBe(callerTraceId);
  });

  it('one trace holds the HTTP span, the workflow, a span per activity and the webhook delivery, each under the right parent', () => {
    const http = one('POST /v1/files');
    expect(http).toMatchObject({ parentSpanId: callerSpanId, kind: 2, serviceName: 'intake-api', encoding: 'json' });
    const start = one('StartWorkflow:uploadWorkflow');
    expect(start.parentSpanId).toBe(http.spanId);
    const run = one('RunWorkflow:uploadWorkflow');
    expect(run).toMatchObject({ parentSpanId: start.spanId, serviceName: 'intake-worker', encoding: 'protobuf' });

    const ran = [
      'scanFile',
      'validateFile',
      'makeRenditions',
      'storeFile',
      'indexFile',
      'recordFile',
      'planNotifications',
      'deliverWebhook',
    ];
    for (const activity of ran) {
      const runs = byName(`RunActivity:${activity}`);
      expect(runs.length, activity).toBeGreaterThan(0);
      // Since the otel-activity-context patch an attempt's parent is the run itself.
      for (const attempt of runs) expect(attempt.parentSpanId, activity).toBe(run.spanId);
    }
    expect(spans.filter((s) => s.name.startsWith('StartActivity:'))).toEqual([]);

    // The delivery is a client span under the deliverWebhook attempt, and the receiver got its context.
    const deliveries = byName('webhook.deliver');
    const delivered = receiver.received.find((w) => w.body.includes(fileId) && w.body.includes('file.ready'));
    const traceparent = delivered?.headers.traceparent ?? '';
    const [, traceId, parentId] = traceparent.split('-');
    expect(traceId).toBe(callerTraceId);
    const delivery = deliveries.find((s) => s.spanId === parentId);
    expect(delivery?.kind).toBe(3);
    expect(spans.find((s) => s.spanId === delivery?.parentSpanId)?.name).toBe('RunActivity:deliverWebhook');

    // Nothing of the upload went to another trace, and every parent is in this one (or is the caller).
    const ids = new Set([callerSpanId, ...spans.map((s) => s.spanId)]);
    expect(spans.filter((s) => !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
  });

  it('the log lines of the request and of an activity carry trace_id and span_id', async () => {
    const lines = (file: string) =>
      readFileSync(join(intake.logDir, file), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const accepted = lines('api.log').find((l) => l.msg === 'upload accepted' && l.fileId === fileId);
    expect(accepted).toMatchObject({ trace_id: callerTraceId, span_id: one('POST /v1/files').spanId });
    const request = lines('api.log').find((l) => l.msg === 'request' && l.method === 'POST' && l.status === 202);
    expect(request).toMatchObject({ trace_id: callerTraceId });

    // An infected upload is one whose scan logs: that line sits in the scan attempt's span.
    const infected = await client.uploadFile(eicarTestFile(), { filename: 'eicar.txt', mode: 'raw' });
    expect((await client.waitForFile(infected.id, 90_000)).status).toBe('INFECTED');
    const { traceId } = await client.getFile(infected.id);
    const scanLine = await waitUntil('the scan logs the infected upload', () =>
      lines('worker.log').find((l) => l.msg === 'infected upload quarantined' && l.fileId === infected.id),
    );
    expect(scanLine.trace_id).toBe(traceId);
    const scanSpan = await waitUntil('the scan span is exported', () =>
      otlp.spans.find((s) => s.spanId === scanLine.span_id),
    );
    expect(scanSpan).toMatchObject({ name: 'RunActivity:scanFile', traceId });
  });
});

describe('ops/', () => {
  it('every metric the dashboard, the alert rules and the scrape config name exists in a real scrape', async () => {
    const scraped = new Set(
      [...(await scrape(`${intake.apiUrl}/metrics`)), ...(await scrape(intake.workerMetricsUrl))].map((f) => f.name),
    );
    const named = opsMetricNames();
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !scraped.has(name))).toEqual([]);
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

/*
 * An OTLP/HTTP trace receiver for the tests: what a collector or Jaeger's OTLP port does, reduced to
 * keeping every span it is sent. It decodes both encodings the spec defines for OTLP/HTTP: JSON
 * (ids as hex) and protobuf (decoded with the OpenTelemetry proto definitions, ids as bytes).
 */

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  serviceName: string;
  /** 'json' or 'protobuf': how the span arrived. */
  encoding: 'json' | 'protobuf';
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: the exporters post to <endpoint>/v1/traces. */
  endpoint: string;
  readonly spans: readonly ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
}
interface OtlpSpan {
  traceId: string | Uint8Array;
  spanId: string | Uint8Array;
  parentSpanId?: string | Uint8Array | null;
  name: string;
  kind: number;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

// The generated protobufjs module of @opentelemetry/otlp-transformer (CommonJS, no typings for it).
const proto = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root') as {
  opentelemetry: {
    proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(bytes: Uint8Array): unknown } } } } };
  };
};
const ExportTraceServiceRequest = proto.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

// protobufjs leaves an absent bytes field (a root span's parent) null or empty, JSON omits it.
const hex = (id: string | Uint8Array | null | undefined): string =>
  id === undefined || id === null ? '' : typeof id === 'string' ? id : Buffer.from(id).toString('hex');

function spansOf(request: OtlpRequest, encoding: ReceivedSpan['encoding']): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const serviceName =
      resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        traceId: hex(span.traceId),
        spanId: hex(span.spanId),
        parentSpanId: hex(span.parentSpanId),
        name: span.name,
        kind: span.kind,
        serviceName,
        encoding,
      })),
    );
  });
}

/**
 * Bodies are kept as they arrive and decoded when `spans` is read, so a benchmark that reads them
 * after its measured window is not charged the decoding, which a real collector does on its own host.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const pending: { encoding: ReceivedSpan['encoding']; body: Buffer }[] = [];
  const decodePending = () => {
    for (const { encoding, body } of pending.splice(0)) {
      const request =
        encoding === 'json'
          ? (JSON.parse(body.toString('utf8')) as OtlpRequest)
          : (ExportTraceServiceRequest.decode(body) as OtlpRequest);
      spans.push(...spansOf(request, encoding));
    }
    return spans;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (type === 'application/json') pending.push({ encoding: 'json', body });
      else if (type === 'application/x-protobuf') pending.push({ encoding: 'protobuf', body });
      else {
        res.writeHead(415).end();
        return;
      }
      // An empty ExportTraceServiceResponse, in the encoding of the request.
      res.writeHead(200, { 'content-type': type }).end(type === 'application/json' ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get spans() {
      return decodePending();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

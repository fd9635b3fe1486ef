/**
 * An in-process OTLP/HTTP receiver: a plain HTTP server on loopback that takes the JSON the
 * OpenTelemetry exporter posts to /v1/traces and keeps every span. The stand-in for a real
 * collector where none runs (test/ops/tracing.test.ts without Jaeger; bench:obs without Jaeger).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpJson {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: OtlpAttribute[] }> }>;
  }>;
}

/**
 * OTLP JSON's typed attribute values ({ stringValue: 'x' }, { intValue: 3 }) as plain values. An
 * int64 may come as a string (proto3 JSON, as Jaeger writes it) or a number (the JS exporter).
 */
export const plainAttributes = (attributes: OtlpAttribute[]) =>
  Object.fromEntries(attributes.map((a) => [a.key, 'intValue' in a.value ? Number(a.value.intValue) : Object.values(a.value)[0]]));

/** The spans of an OTLP JSON document (an export request, or Jaeger's api_v3 answer). */
export function spansOfOtlpJson(payload: OtlpJson): ReceivedSpan[] {
  return payload.resourceSpans.flatMap((rs) => {
    const service = String(plainAttributes(rs.resource.attributes)['service.name']);
    return rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, attributes: plainAttributes(s.attributes ?? []), service })),
    );
  });
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !req.headers['content-type']?.startsWith('application/json')) {
        res.writeHead(415, { 'Content-Type': 'text/plain' }).end('OTLP/HTTP JSON at /v1/traces only\n');
        return;
      }
      spans.push(...spansOfOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

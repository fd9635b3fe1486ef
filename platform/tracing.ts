/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then one trace per request,
 * from the API's HTTP span through the workflow start, the workflow and its activities (Temporal's
 * OpenTelemetry plugin carries the context in workflow and activity headers), exported over
 * OTLP/HTTP to that endpoint.
 *
 * The OpenTelemetry JS line is 1.x (SDK 1.30, OTLP exporter 0.57) on purpose:
 * @temporalio/interceptors-opentelemetry 1.24 is built on it (its `-v2` sibling is for 2.x), and
 * two SDK lines in one process would not share a context. Off, only @opentelemetry/api is loaded
 * (its no-op tracer takes the API's spans) and nothing else is wrapped.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import type { KyselyPlugin } from 'kysely';

let plugin: OpenTelemetryPlugin | undefined;

/** What a Temporal Client or Worker adds to its `plugins` (nothing while tracing is off). */
export const tracingPlugins = (): OpenTelemetryPlugin[] => (plugin ? [plugin] : []);

export interface Tracing {
  /** Export what is buffered now (tests; a clean stop). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Where the SDK's own complaints go (a pino logger fits). */
export interface TracingLogger {
  warn(details: object, message: string): void;
}

/** How often a failing exporter may say so: once a minute, with the count of what was not said. */
const COMPLAINT_INTERVAL_MS = 60_000;

/** The SDK's error handler passes an exception as its JSON (stack and all): keep its message. */
function readable(message: string): string {
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    return typeof parsed?.message === 'string' ? `spans not exported: ${parsed.message}` : message;
  } catch {
    return message;
  }
}

/**
 * Once per process, before any client or worker is created. Undefined when no endpoint is set.
 * With `logger`, failed exports (the receiver down or refusing) are logged as warnings, at most once
 * a minute; the SDK drops those spans and requests carry on either way.
 */
export function startTracing(endpoint: string | undefined, serviceName: string, logger?: TracingLogger): Tracing | undefined {
  if (!endpoint) return undefined;
  // Required here, not imported: the OpenTelemetry packages load only when tracing is on.
  const { context, diag, DiagLogLevel, propagation } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OpenTelemetryPlugin: Plugin } = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');

  const resource = new Resource({ 'service.name': serviceName });
  // OTLP/HTTP's path for traces is /v1/traces under the collector's base URL.
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` });
  const spanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  // Workflow spans are made in the workflow sandbox and leave it through a sink into this processor.
  plugin = new Plugin({ resource, spanProcessor });
  if (logger) {
    // Without a diag logger the SDK drops a failed export silently (its error handler logs to diag).
    let lastAt = -Infinity;
    let unsaid = 0;
    const complain = (message: string) => {
      if (Date.now() - lastAt < COMPLAINT_INTERVAL_MS) {
        unsaid++;
        return;
      }
      logger.warn({ endpoint, similarSinceLast: unsaid }, `tracing: ${readable(message)}`);
      lastAt = Date.now();
      unsaid = 0;
    };
    const quiet = () => undefined;
    diag.setLogger({ error: complain, warn: complain, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  }
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      diag.disable();
      trace.disable();
      context.disable();
      propagation.disable();
      plugin = undefined;
    },
  };
}

/*
 * The leaves of a trace: SMTP sends and database queries, as CLIENT spans under whatever span is
 * active (an activity's RunActivity, the API's request). Nothing is wrapped while tracing is off.
 * No personal data in attributes: no recipients, no SQL parameters.
 */
const leafTracer = () => trace.getTracer('conveyor');

async function inClientSpan<T>(name: string, attributes: Attributes, call: () => Promise<T>): Promise<T> {
  return leafTracer().startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** An SMTP transport whose sendMail makes an 'smtp send' span. */
export function traceMailer<T extends { sendMail(mail: object): Promise<unknown> }>(mailer: T): T {
  if (!plugin) return mailer;
  const send = mailer.sendMail.bind(mailer);
  mailer.sendMail = ((mail: object) => inClientSpan('smtp send', { 'network.protocol.name': 'smtp' }, () => send(mail))) as T['sendMail'];
  return mailer;
}

/**
 * A Kysely plugin timing each query as a 'db <KIND>' span (SELECT, INSERT, UPDATE, DELETE, ...).
 * transformQuery is not always followed by transformResult (a failed query), hence the WeakMap.
 */
export function tracingDbPlugins(system: 'sqlite' | 'postgresql'): KyselyPlugin[] {
  if (!plugin) return [];
  const open = new WeakMap<object, Span>();
  return [
    {
      transformQuery({ node, queryId }) {
        const operation = node.kind.replace(/QueryNode$|Node$/, '').toUpperCase();
        open.set(queryId, leafTracer().startSpan(`db ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'db.system': system, 'db.operation.name': operation } }));
        return node;
      },
      async transformResult({ result, queryId }) {
        open.get(queryId)?.end();
        open.delete(queryId);
        return result;
      },
    },
  ];
}

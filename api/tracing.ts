/**
 * The root span of a request's trace (platform/tracing.ts): a SERVER span around the request, named
 * by route template once known, with the correlation ID as an attribute so a trace and the logs
 * find each other. With tracing off the tracer is the API's no-op one.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';

const tracer = trace.getTracer('conveyor-api');

export const traceRequests: RequestHandler = (req, res, next) => {
  const span = tracer.startSpan(`${req.method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } });
  res.once('finish', () => {
    const route: unknown = req.route?.path;
    if (typeof route === 'string') {
      span.updateName(`${req.method} ${req.baseUrl}${route}`);
      span.setAttribute('http.route', `${req.baseUrl}${route}`);
    }
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.locals.correlationId) span.setAttribute('conveyor.correlation_id', String(res.locals.correlationId));
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  // Everything downstream (the Temporal client's start and signal calls) runs inside this span.
  context.with(trace.setSpan(context.active(), span), next);
};

/**
 * The API's metrics: every request counted and timed by route template, and GET /metrics on the
 * API's own port (the database gauges of db/metrics.ts included).
 */
import type { RequestHandler } from 'express';
import type { Database } from '../db/database';
import { watchDatabase } from '../db/metrics';
import { collectProcessMetrics, httpRequestDuration, httpRequests, metricsContentType, metricsText } from '../platform/metrics';

/**
 * The matched route's template ('/v1/jobs/:jobId'), read when the response has finished; requests
 * no route matched (404s, bodies rejected before routing, replays answered by the idempotency
 * middleware) share one label instead of their raw paths, which would be unbounded.
 */
function routeTemplate(req: Parameters<RequestHandler>[0]): string {
  const path: unknown = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

export function apiMetrics(db: Database): { countRequests: RequestHandler; endpoint: RequestHandler } {
  watchDatabase(db);
  collectProcessMetrics();
  return {
    countRequests(req, res, next) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const route = routeTemplate(req);
        httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        httpRequestDuration.observe({ method: req.method, route, status_class: `${Math.floor(res.statusCode / 100)}xx` }, seconds);
      });
      next();
    },
    endpoint(_req, res, next) {
      metricsText().then((text) => res.type(metricsContentType).send(text), next);
    },
  };
}

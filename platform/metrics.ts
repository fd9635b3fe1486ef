/**
 * Prometheus metrics (prom-client): one registry per process, scraped at `/metrics` on the API's
 * port and, for the worker and the relay, on METRICS_PORT (startMetricsServer). docs/operations.md
 * says what each metric means and which alerts use it.
 *
 * Label values come from fixed sets only (route templates, workflow types, email templates, HTTP
 * status codes; streams and consumer groups defined in code), never from request data, so the
 * number of series stays bounded however many users, orders or jobs there are.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

let collectingProcessMetrics = false;
/**
 * Process CPU, memory, event-loop lag, GC: the first things to look at when latency rises. Started
 * by whatever serves /metrics (not at import), so a process with METRICS=off pays nothing for them.
 */
export function collectProcessMetrics(): void {
  if (collectingProcessMetrics) return;
  collectingProcessMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: 'conveyor_' });
}

export const httpRequests = new Counter({
  name: 'conveyor_http_requests_total',
  help: 'HTTP requests answered, by method, route template (never the raw path) and status code; 429 and 503 are load shed or a dependency down.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'conveyor_http_request_duration_seconds',
  help: 'Time from request to response finished, by method, route template and status class (2xx, 4xx, 5xx).',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const jobsAccepted = new Counter({
  name: 'conveyor_jobs_accepted_total',
  help: 'Jobs accepted (202 answered, workflow started or already running), by workflow type.',
  labelNames: ['workflow_type'] as const,
  registers: [registry],
});

export const idempotentReplays = new Counter({
  name: 'conveyor_idempotent_replays_total',
  help: 'Requests answered from a stored response because their Idempotency-Key was seen before.',
  registers: [registry],
});

export const emailsSent = new Counter({
  name: 'conveyor_emails_sent_total',
  help: 'Emails handed to the SMTP server, by template.',
  labelNames: ['template'] as const,
  registers: [registry],
});

export const emailDuplicatesSuppressed = new Counter({
  name: 'conveyor_email_duplicates_suppressed_total',
  help: 'Email sends skipped because an earlier attempt with the same idempotency key had sent it (activity retries).',
  labelNames: ['template'] as const,
  registers: [registry],
});

/**
 * More exposition text appended to this process's scrape (the Temporal SDK's own metrics, served
 * by its native exporter on an internal port), so each role is a single scrape target.
 */
const extraSources: Array<() => Promise<string>> = [];
export function addMetricsSource(source: () => Promise<string>): void {
  extraSources.push(source);
}

export const metricsContentType = registry.contentType;

/** The whole exposition text: our registry, then each extra source (a failing source is left out). */
export async function metricsText(): Promise<string> {
  const parts = await Promise.all([registry.metrics(), ...extraSources.map((source) => source().catch(() => ''))]);
  return parts.filter((part) => part !== '').map((part) => (part.endsWith('\n') ? part : `${part}\n`)).join('');
}

/** GET /metrics on its own port, for the roles without an HTTP API (worker, relay). */
export async function startMetricsServer(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  collectProcessMetrics();
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Only GET /metrics here.\n');
      return;
    }
    metricsText().then(
      (text) => res.writeHead(200, { 'Content-Type': metricsContentType }).end(text),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

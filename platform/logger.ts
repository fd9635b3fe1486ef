import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import { currentCorrelationId } from './correlation';
import { redactionOptions } from './log-redaction';

/**
 * Structured JSON logs on stdout, one logger per process, children add context. On a terminal
 * (a person running `npm start`) the same lines are printed readably by pino-pretty instead;
 * LOG_FORMAT=json|pretty overrides the guess. Every line logged inside a request, outbox row or
 * activity carries its correlation ID (and trace ID when tracing is on); personal data is
 * redacted (log-redaction.ts).
 */
export function createLogger(level: string, name: string, format = process.env.LOG_FORMAT) {
  const options: pino.LoggerOptions = {
    level,
    name,
    ...redactionOptions(),
    mixin: () => {
      const correlationId = currentCorrelationId();
      const span = trace.getActiveSpan()?.spanContext(); // only while tracing is on (platform/tracing.ts)
      return {
        ...(correlationId ? { correlationId } : {}),
        ...(span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {}),
      };
    },
  };
  const pretty = format === 'pretty' || (format !== 'json' && process.stdout.isTTY === true);
  if (!pretty) return pino(options);
  // Required only here: JSON deployments never load it. sync: lines interleave in order with console output.
  const prettyStream = (require('pino-pretty') as typeof import('pino-pretty')).build({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
  return pino(options, prettyStream);
}

export type Logger = pino.Logger;

/** The Temporal runtime and workers log through our logger, so all lines share one format. */
export function asTemporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    let method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    // The worker's webpack build report (dozens of lines when it bundles workflows at start) is
    // for whoever debugs the bundle; 'Workflow bundle created' stays at info.
    if (method === 'info' && isWebpackReport(message)) method = 'debug';
    logger[method](meta ?? {}, message);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

/** webpack's stats text, which the SDK's bundler logs at info: it ends 'webpack 5.x compiled ...'. */
export function isWebpackReport(message: string): boolean {
  return /\bwebpack \d+\.\d+\.\d+ compiled\b/.test(message);
}

/**
 * The logger as the roles use it, in a child process (stdout a pipe, as under a process manager,
 * or forced to a terminal's format): JSON lines, correlation IDs, no personal data, no webpack
 * report at info, readable output when pretty.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const runSample = (env: Record<string, string>) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'test/support/log-sample.ts'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });

test('JSON lines when stdout is not a terminal: correlation IDs, personal data redacted, webpack report only at debug', () => {
  const out = runSample({ LOG_FORMAT: '' });
  const lines = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
  expect(lines.map((l) => l.msg)).toEqual(['sending email', 'user signed up', 'mail to [email] failed', 'Workflow bundle created']);

  const [sending, signedUp, failed] = lines as [Record<string, any>, Record<string, any>, Record<string, any>];
  expect(sending.correlationId).toBe('corr-123');
  expect(sending.input).toEqual({ to: '[redacted]', name: '[redacted]', template: 'welcome' });
  expect(signedUp.correlationId).toBe('corr-123');
  expect(signedUp.user.email).toBe('[redacted]');
  expect(signedUp.email).toBe('[redacted]');
  expect(failed.correlationId).toBeUndefined(); // logged outside any request: no ID invented
  expect(failed.path).toBe('/v1/users?email=[email]'); // free text, URL-encoded
  expect(failed.err.message).toBe('550 rejected: [email]');
  expect(sending.name).toBe('log-sample'); // the logger's own name is not "personal"

  expect(out).not.toMatch(/ann@|bob@|carol|dave@|erin@|Ann Smith/);
  expect(out).not.toContain('webpack');
});

test('LOG_LEVEL=debug shows the webpack report', () => {
  // createLogger takes the level from its caller; the sample uses info, so check the demotion directly.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `
    const { asTemporalLogger, createLogger } = require('./platform/logger');
    asTemporalLogger(createLogger('debug', 'x')).info('webpack 5.102.1 compiled successfully in 1 ms', {});
  `], { cwd: root, env: { ...process.env, LOG_FORMAT: 'json' }, encoding: 'utf8' });
  expect(JSON.parse(out)).toMatchObject({ level: 20, msg: 'webpack 5.102.1 compiled successfully in 1 ms' });
});

test('LOG_FORMAT=pretty (what a terminal gets): readable lines, still redacted', () => {
  const out = runSample({ LOG_FORMAT: 'pretty', NO_COLOR: '1', FORCE_COLOR: '0' });
  expect(out).not.toMatch(/^\{/m);
  expect(out).toMatch(/INFO.*\(log-sample\): sending email/);
  expect(out).toContain('correlationId: "corr-123"');
  expect(out).not.toMatch(/ann@|bob@|Ann Smith/);
});

test('with tracing on, lines logged inside a span carry its trace and span IDs', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `
    const { startTracing } = require('./platform/tracing');
    const tracing = startTracing('http://127.0.0.1:9', 'log-sample'); // nothing listens: spans are dropped
    const { createLogger } = require('./platform/logger');
    const { trace } = require('@opentelemetry/api');
    const log = createLogger('info', 'x');
    log.info('outside');
    trace.getTracer('t').startActiveSpan('s', (span) => { log.info({ spanIdSeen: span.spanContext().spanId }, 'inside'); span.end(); });
    tracing.shutdown().catch(() => undefined);
  `], { cwd: root, env: { ...process.env, LOG_FORMAT: 'json' }, encoding: 'utf8' });
  const [outside, inside] = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>) as [Record<string, string>, Record<string, string>];
  expect(outside.traceId).toBeUndefined();
  expect(inside.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(inside.spanId).toBe(inside.spanIdSeen);
});

/** Run by test/ops/logs.test.ts as a child process: log what the roles log, through the real logger. */
import { withCorrelationId } from '../../platform/correlation';
import { asTemporalLogger, createLogger } from '../../platform/logger';

const logger = createLogger('info', 'log-sample');
withCorrelationId('corr-123', () => {
  logger.info({ input: { to: 'ann@example.com', name: 'Ann Smith', template: 'welcome' } }, 'sending email');
  logger.info({ user: { email: 'bob@example.org' }, email: 'bob@example.org' }, 'user signed up');
});
logger.warn({ path: '/v1/users?email=carol%40example.com', err: new Error('550 rejected: dave@example.net') }, 'mail to erin@example.com failed');
const temporal = asTemporalLogger(logger.child({ component: 'temporal' }));
temporal.info('asset workflow-bundle-1.js 1.2 MiB [emitted]\n  modules by path ./workflows/ 40 KiB\nwebpack 5.102.1 compiled successfully in 2345 ms', {});
temporal.info('Workflow bundle created', { size: '1.2MB' });

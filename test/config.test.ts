import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../platform/config';

test('defaults: embedded dev server, local mail catcher, loopback only', () => {
  const config = loadConfig({});
  expect(config.host).toBe('127.0.0.1');
  expect(config.port).toBe(3000);
  expect(config.temporal).toMatchObject({ embedded: true, address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://127.0.0.1:8233' });
  expect(config.mail).toMatchObject({ useMailCatcher: true, smtpUrl: 'smtp://127.0.0.1:1025' });
  expect(config.welcomeFollowUpDelayMs).toBe(3 * 24 * 3600 * 1000);
  expect(config.dataDir).toBe(path.resolve('.data'));
});

test('TEMPORAL_ADDRESS switches to an existing cluster; an API key implies TLS', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k' });
  expect(config.temporal).toMatchObject({ embedded: false, address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', tls: true, uiUrl: undefined });
});

test.each([
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['TEMPORAL_DEV_SERVER_PORT', '-1'],
  ['WELCOME_FOLLOW_UP_DELAY', 'soon'],
  ['WELCOME_FOLLOW_UP_DELAY', '-5s'],
  ['TEMPORAL_ADDRESS', 'http://x'],
  ['SMTP_URL', 'http://mail.example.com'],
  ['TEMPORAL_TLS', 'yes'],
  ['LOG_LEVEL', 'loud'],
  ['AUTH_JWT_ALGORITHMS', 'HS256'],
  ['AUTH_JWT_ALGORITHMS', 'RS256,none'],
  ['RATE_LIMIT_RPS', '0'],
  ['TRUST_PROXY', 'true'],
  ['TRUST_PROXY', 'loopback,proxy.example.com'],
])('a bad %s (%s) is refused, naming the variable', (name, value) => {
  expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}=`));
});

test('TRUST_PROXY: off by default; a hop count, or the proxies\' addresses and subnets', () => {
  expect(loadConfig({}).trustProxy).toBe(false);
  expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
  expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,2001:db8::1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '2001:db8::1']);
});

test('JWT needs its issuer and audience: a JWKS alone would accept any issuer\'s tokens', () => {
  expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp.example.com/jwks.json' })).toThrow(/AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/);
  const config = loadConfig({ AUTH_JWKS_URL: 'https://idp.example.com/jwks.json', AUTH_JWT_ISSUER: 'https://idp.example.com', AUTH_JWT_AUDIENCE: 'conveyor' });
  expect(config.auth.jwt).toMatchObject({ algorithms: ['RS256', 'ES256', 'EdDSA'], tenantClaim: 'tenant', scopeClaim: 'scope' });
});

test('a bad value stops `npm start` before anything starts, with a readable message', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, PORT: 'not-a-port', WELCOME_FOLLOW_UP_DELAY: 'whenever' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('PORT="not-a-port"');
  expect(run.stderr).toContain('WELCOME_FOLLOW_UP_DELAY="whenever"');
});

/**
 * Credentials and limits: JWT bearer tokens against a JWKS served on loopback (the tricks a forger
 * tries are refused), per-key and job-submission rate limits with the IETF headers, failed
 * authentications limited per address, and the shared PostgreSQL store holding one limit across
 * two API processes. The key check's own cost is measured in bench/auth-cost.ts.
 */
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createApiKey } from '../../db/api-keys';
import { json, startTestApi, uniqueTag } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const ISSUER = 'https://issuer.conveyor.test';
const AUDIENCE = 'conveyor-api';

describe('JWT bearer tokens (JWKS on loopback)', () => {
  let d: TestDeployment;
  let jwks: Server;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let publicPem = '';

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    publicPem = await exportSPKI(pair.publicKey);
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as { port: number };
    d = await startTestDeployment({ env: { AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE } });
  });

  afterAll(async () => {
    await d?.stop();
    jwks?.close();
  });

  const token = (claims: Record<string, unknown> = {}, { expiresIn = '5m', audience = AUDIENCE, issuer = ISSUER, key = privateKey as CryptoKey | Uint8Array, alg = 'RS256' } = {}) =>
    new SignJWT({ tenant: 'jwt-tenant', scope: 'jobs:read', ...claims })
      .setProtectedHeader({ alg, kid: 'test-key' })
      .setSubject('svc-1')
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);
  const get = (path: string, credential: string) => fetch(`${d.url}${path}`, { headers: { authorization: `Bearer ${credential}` } });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test('a valid token: its tenant and scopes apply (403 for a scope it lacks, 404 for what its tenant does not own)', async () => {
    const valid = await token();
    expect((await get('/v1/inventory', valid)).status).toBe(200);
    expect((await get('/v1/users/nobody', valid)).status).toBe(404);
    const post = await fetch(`${d.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${valid}`, 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(403);
    // Scopes may also come as an array; unknown ones are ignored.
    expect((await get('/v1/inventory', await token({ scope: ['jobs:read', 'root'] }))).status).toBe(200);
  });

  test.each([
    ['expired', () => token({}, { expiresIn: '-1m' })],
    ['for another audience', () => token({}, { audience: 'someone-else' })],
    ['from another issuer', () => token({}, { issuer: 'https://evil.test' })],
    ['signed by a key not in the JWKS', async () => token({}, { key: (await generateKeyPair('RS256')).privateKey })],
    ['alg none (unsigned)', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ tenant: 'jwt-tenant', scope: 'jobs:read', sub: 's', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })}.`],
    ['HS256 keyed with the public key (algorithm confusion)', () => token({}, { key: new TextEncoder().encode(publicPem), alg: 'HS256' })],
    ['without a valid tenant claim', () => token({ tenant: 'Not A Tenant!' })],
    ['garbage', async () => 'not.a.jwt'],
  ])('a token %s is 401 with WWW-Authenticate', async (_what, make) => {
    const res = await get('/v1/inventory', await make());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="conveyor", error="invalid_token"');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  test('an Authorization header that is not Bearer, or none: 401', async () => {
    expect((await fetch(`${d.url}/v1/inventory`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).status).toBe(401);
    const none = await fetch(`${d.url}/v1/inventory`, { headers: { authorization: '' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="conveyor"');
  });
});

describe.each(testDatabases())('rate limits (%s)', (_name, target) => {
  let d: TestDeployment;
  const limits = { RATE_LIMIT_RPS: '4', RATE_LIMIT_BURST: '2', RATE_LIMIT_SUBMIT_RPS: '1', RATE_LIMIT_SUBMIT_BURST: '0', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5', RATE_LIMIT_PUBLIC_RPS: '3', RATE_LIMIT_PUBLIC_BURST: '0' };

  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), ...limits } });
  });

  afterAll(() => d?.stop());

  const newKey = async () => (await createApiKey(d.db, { tenantId: uniqueTag('rl'), scopes: ['jobs:read', 'jobs:submit'], name: 'rl' })).key;
  const burst = (url: string, key: string, n: number) => Promise.all(Array.from({ length: n }, () => fetch(`${url}/v1/inventory`, { headers: { authorization: `Bearer ${key}` } })));

  test('every authenticated answer carries RateLimit-Policy and RateLimit; over rate + burst: 429 problem+json with Retry-After', async () => {
    const key = await newKey();
    const first = await fetch(`${d.url}/v1/users/nobody`, { headers: { authorization: `Bearer ${key}` } });
    expect(first.status).toBe(404); // an error answer carries them too
    expect(first.headers.get('ratelimit-policy')).toBe('"key";q=4;w=1, "key-burst";q=2;w=10');
    expect(first.headers.get('ratelimit')).toMatch(/^"key";r=3;t=1$/);
    const answers = await burst(d.url, key, 10);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    const problem = refused[0]!;
    expect(Number(problem.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(problem.headers.get('ratelimit')).toMatch(/^"key";r=0;t=\d+$/);
    expect(await json(problem)).toMatchObject({ type: 'urn:conveyor:problem:rate-limited', status: 429 });
    // Another key is not affected.
    expect((await burst(d.url, await newKey(), 1))[0]!.status).toBe(200);
  });

  test('job submissions have their own, lower limit', async () => {
    const key = await newKey();
    const submit = () =>
      fetch(`${d.url}/v1/welcome-emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: uniqueTag('u'), email: 'rl@example.com', name: 'Rl' }),
      });
    const [a, b] = [await submit(), await submit()];
    expect(a.status).toBe(202);
    // Both limits that apply to a submission, each under its name.
    expect(a.headers.get('ratelimit-policy')).toBe('"key";q=4;w=1, "key-burst";q=2;w=10, "submit";q=1;w=1');
    expect(a.headers.get("ratelimit")).toMatch(/^"key";r=\d+;t=1, "submit";r=0;t=1$/);
    expect(b.status).toBe(429);
    expect(b.headers.get('ratelimit-policy')).toBe('"key";q=4;w=1, "key-burst";q=2;w=10, "submit";q=1;w=1');
    expect(b.headers.get("ratelimit")).toMatch(/^"key";r=\d+;t=1, "submit";r=0;t=\d+$/);
    expect(b.headers.get('retry-after')).toBe('1');
  });

  test("the lane's enqueue is a job submission too: a batch counts once, and a refused batch commits nothing", async () => {
    const key = await newKey();
    const enqueue = (keys: string[]) =>
      fetch(`${d.url}/v1/lanes/notification-email/items`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items: keys.map((k) => ({ key: k, input: { userId: 'u-rl' } })) }),
      });
    const [first, second] = [[uniqueTag('n'), uniqueTag('n'), uniqueTag('n')], [uniqueTag('n')]];
    const a = await enqueue(first);
    expect(a.status).toBe(202);
    expect((await json(a)).accepted).toBe(3);
    expect(a.headers.get('ratelimit-policy')).toBe('"key";q=4;w=1, "key-burst";q=2;w=10, "submit";q=1;w=1');
    const b = await enqueue(second);
    expect(b.status).toBe(429);
    expect(b.headers.get('retry-after')).toBe('1');
    // As a client would: wait what Retry-After says. The refused item was never committed, so it is new, not a duplicate.
    await sleep(Number(b.headers.get('retry-after')) * 1000 + 100);
    const c = await enqueue(second);
    expect(c.status).toBe(202);
    expect(await json(c)).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  if (_name === 'PostgreSQL') {
    test('two API processes share one limit (the PostgreSQL store)', async () => {
      const second = await startTestApi({ config: d.config, client: d.client, db: d.db });
      try {
        const key = await newKey();
        // 3 + 3 requests, split across the two processes: over 4 + 2 only if they count together.
        const answers = [...(await burst(d.url, key, 4)), ...(await burst(second.url, key, 4))];
        expect(answers.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
      } finally {
        await second.close();
      }
    });
  }

  test('the public routes are limited per source address, apart from the keys; an answer without credentials reports the failed-authentication limit without counting', async () => {
    const probes = await Promise.all(Array.from({ length: 6 }, () => fetch(`${d.url}/healthz`)));
    const served = probes.filter((r) => r.status === 200);
    const refused = probes.filter((r) => r.status === 429);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const r of probes) expect(r.headers.get('ratelimit-policy')).toBe('"address";q=3;w=1');
    expect(served[0]!.headers.get('ratelimit')).toMatch(/^"address";r=[0-2];t=1$/);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect(await json(refused[0]!)).toMatchObject({ type: 'urn:conveyor:problem:rate-limited', detail: expect.stringContaining('public routes') });
    // The same address with a key is limited by the key's bucket only.
    expect((await burst(d.url, await newKey(), 1))[0]!.status).toBe(200);

    const anonymous = [await fetch(`${d.url}/v1/inventory`, { headers: { authorization: '' } }), await fetch(`${d.url}/v1/inventory`, { headers: { authorization: '' } })];
    for (const r of anonymous) {
      expect(r.status).toBe(401);
      expect(r.headers.get('ratelimit-policy')).toBe('"auth-failures";q=5;w=60');
      expect(r.headers.get('ratelimit')).toBe('"auth-failures";r=5;t=60'); // a missing key is no guess: not counted
    }
  });

  // Last: it blocks this address on this deployment.
  test('failed authentications are limited per address: after 5, even a valid key waits (429); a forged X-Forwarded-For changes nothing', async () => {
    const valid = await newKey();
    const guess = (url: string, forwardedFor: string) =>
      fetch(`${url}/v1/inventory`, { headers: { authorization: `Bearer cvk_${'0'.repeat(16)}_${'x'.repeat(43)}`, 'X-Forwarded-For': forwardedFor } });
    const guesses = [];
    // Each guess claims another client address: with TRUST_PROXY off (the default) the socket's address counts.
    for (let i = 0; i < 7; i++) guesses.push(await guess(d.url, `198.51.100.${i + 1}`));
    expect(guesses.slice(0, 5).map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(guesses[0]!.headers.get('ratelimit-policy')).toBe('"auth-failures";q=5;w=60');
    expect(guesses.map((r) => r.headers.get('ratelimit')).slice(0, 5)).toEqual([4, 3, 2, 1, 0].map((r) => expect.stringMatching(new RegExp(`^"auth-failures";r=${r};t=\\d+$`))));
    expect(guesses.at(-1)!.status).toBe(429);
    expect(Number(guesses.at(-1)!.headers.get('retry-after'))).toBeGreaterThan(1);
    const headers = { authorization: `Bearer ${valid}`, 'X-Forwarded-For': '198.51.100.200' };
    expect((await fetch(`${d.url}/v1/inventory`, { headers })).status).toBe(429);

    // Behind a proxy named by TRUST_PROXY, the forwarded client address counts instead: one client
    // guessing is blocked, another client behind the same proxy is served.
    const behindProxy = await startTestApi({ config: { ...d.config, trustProxy: ['loopback'] }, client: d.client, db: d.db });
    try {
      const guesser = `2001:db8::${uniqueTag('g').slice(2, 6)}`;
      const proxied = [];
      for (let i = 0; i < 6; i++) proxied.push((await guess(behindProxy.url, guesser)).status);
      expect(proxied).toEqual([401, 401, 401, 401, 401, 429]);
      expect((await fetch(`${behindProxy.url}/v1/inventory`, { headers: { ...headers, 'X-Forwarded-For': '2001:db8::beef' } })).status).toBe(200);
      expect((await fetch(`${behindProxy.url}/v1/inventory`, { headers: { ...headers, 'X-Forwarded-For': guesser } })).status).toBe(429);
    } finally {
      await behindProxy.close();
    }
  });
});

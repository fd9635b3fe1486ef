/**
 * Webhook delivery end to end (SQLite and PostgreSQL): real deposits append DepositReceived, the
 * real relay starts a delivery per subscribed endpoint, the real worker POSTs to a real HTTP
 * receiver on loopback that verifies each Standard Webhooks signature, fails the first attempt and
 * never answers the second (a timeout). The receiver sees every event, dedupes by webhook-id, and
 * nothing is lost. A delivery that runs out of attempts is a failed job that retry delivers, under
 * the same webhook-id. Endpoints are their tenant's: each receives its own tenant's events only.
 * The SSRF rule refuses loopback and private targets by default.
 */
import { createHmac } from 'node:crypto';
import dns from 'node:dns/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { createApiKey } from '../../db/api-keys';
import { DEFAULT_TENANT } from '../../platform/tenancy';
import { isAllowedAddress, createWebhookActivities, webhookEndpoints } from '../../workflows/webhook-delivery/activities';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { openAccount } from '../support/shop';

interface Receiver {
  url: string;
  /** Every request, in arrival order. */
  requests: Array<{ webhookId: string; attempt: string; verified: boolean; body: { type: string; data: Record<string, unknown> } }>;
  /** webhook-ids processed (answered 2xx with a valid signature), deduplicated. */
  processed: Map<string, { type: string; data: Record<string, unknown> }>;
  secret: string;
  close(): Promise<void>;
}

/**
 * A receiver as the spec asks receivers to be: verify the signature over id.timestamp.body with
 * the secret, refuse a stale timestamp, dedupe by webhook-id. `answer` decides per attempt number
 * (of that webhook-id) whether to fail, hang or accept.
 */
async function startReceiver(answer: (attemptOfId: number) => 'fail' | 'hang' | 'ok'): Promise<Receiver> {
  const receiver = { requests: [], processed: new Map(), secret: '' } as unknown as Receiver;
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const id = req.headers['webhook-id'] as string;
      const timestamp = Number(req.headers['webhook-timestamp']);
      const key = Buffer.from(receiver.secret.replace(/^whsec_/, ''), 'base64');
      const expected = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${raw}`).digest('base64')}`;
      const verified = String(req.headers['webhook-signature']).split(' ').includes(expected) && Math.abs(Date.now() / 1000 - timestamp) < 300;
      const body = JSON.parse(raw);
      receiver.requests.push({ webhookId: id, attempt: String(req.headers['webhook-attempt']), verified, body });
      if (!verified) return res.writeHead(401).end();
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      const outcome = answer(n);
      if (outcome === 'hang') return; // never answers: the sender's timeout fires
      if (outcome === 'fail') return res.writeHead(503).end();
      if (!receiver.processed.has(id)) receiver.processed.set(id, body); // dedupe by webhook-id
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    d = await startTestDeployment({
      env: { ...databaseEnv(await target()), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_BACKOFF: '200ms,200ms,200ms', WEBHOOK_TIMEOUT: '1s' },
      worker: true,
      relay: true,
    });
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await d?.stop();
  });

  const register = async (receiver: Receiver, eventTypes: string[]) => {
    const res = await postJson(`${d.url}/v1/webhook-endpoints`, { url: receiver.url, eventTypes });
    expect(res.status).toBe(201);
    const endpoint = await json(res);
    expect(endpoint.secret).toMatch(/^whsec_/);
    receiver.secret = endpoint.secret;
    return endpoint;
  };
  const deposit = async (accountId: string, amount: number) =>
    expect((await postJson(`${d.url}/v1/accounts/${accountId}/deposits`, { amount, currency: 'USD' }, { 'Idempotency-Key': uniqueTag('k') })).status).toBe(202);

  test('each event reaches the receiver signed, after a failure and a timeout; deduped by webhook-id, nothing lost', async () => {
    const receiver = await startReceiver((n) => (n === 1 ? 'fail' : n === 2 ? 'hang' : 'ok'));
    receivers.push(receiver);
    const endpoint = await register(receiver, ['DepositReceived']);
    expect((await json(await fetch(`${d.url}${endpoint.self}`))).secret).toBeUndefined();

    const accountId = await openAccount(d.db);
    for (const amount of [100, 200, 300]) await deposit(accountId, amount);

    const events = await waitFor('the deposits to be recorded', async () => {
      const rows = await d.db.selectFrom('events').select(['event_id', 'payload']).where('type', '=', 'DepositReceived').execute();
      const mine = rows.filter((r) => JSON.parse(r.payload).accountId === accountId);
      return mine.length === 3 ? mine : undefined;
    });
    const mineProcessed = () => [...receiver.processed.values()].filter((b) => b.data.accountId === accountId);
    await waitFor('every event to be processed', async () => (mineProcessed().length === 3 ? true : undefined), 40_000);

    // Nothing lost: each appended event arrived, as the event it is.
    expect(mineProcessed().map((b) => b.data.eventId).sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(mineProcessed().map((b) => b.type)).toEqual(['DepositReceived', 'DepositReceived', 'DepositReceived']);
    expect(mineProcessed().map((b) => b.data.amount).sort()).toEqual([100, 200, 300]);
    // At least once, one webhook-id per event: three attempts each (503, no answer, 204), all validly signed.
    const requests = receiver.requests.filter((r) => r.body.data.accountId === accountId);
    expect(requests.every((r) => r.verified)).toBe(true);
    const byId = new Map<string, string[]>();
    for (const r of requests) byId.set(r.webhookId, [...(byId.get(r.webhookId) ?? []), r.attempt]);
    expect([...byId.values()]).toEqual([['1', '2', '3'], ['1', '2', '3'], ['1', '2', '3']]);

    // Visibility is eventually consistent: the completed deliveries show up in the job list shortly.
    await waitFor('the three completed deliveries in the job list', async () => {
      const listed = await json(await fetch(`${d.url}/v1/jobs?type=webhook-delivery&status=COMPLETED&pageSize=100`));
      return listed.jobs.filter((j: { jobId: string }) => j.jobId.startsWith(`webhook-delivery:${endpoint.endpointId}:`)).length === 3 ? true : undefined;
    });
  });

  test("an endpoint receives its own tenant's events only; another tenant's endpoint is 404 and its deliveries are not its jobs", async () => {
    const tenants = await Promise.all(
      ['wx', 'wy'].map(async (prefix) => {
        const tenantId = uniqueTag(prefix);
        const { key } = await createApiKey(d.db, { tenantId, scopes: ['webhooks', 'jobs:submit', 'jobs:read'], name: tenantId });
        const receiver = await startReceiver(() => 'ok');
        receivers.push(receiver);
        const as = { authorization: `Bearer ${key}` };
        const res = await postJson(`${d.url}/v1/webhook-endpoints`, { url: receiver.url, eventTypes: ['DepositReceived'] }, as);
        expect(res.status).toBe(201);
        const endpoint = await json(res);
        expect(endpoint.tenantId).toBe(tenantId);
        receiver.secret = endpoint.secret;
        return { tenantId, as, receiver, endpointId: endpoint.endpointId as string, accountId: uniqueTag('acct') };
      }),
    );
    const [x, y] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    // Y cannot read, delete or list X's endpoint.
    expect((await fetch(`${d.url}/v1/webhook-endpoints/${x.endpointId}`, { headers: y.as })).status).toBe(404);
    expect((await fetch(`${d.url}/v1/webhook-endpoints/${x.endpointId}`, { method: 'DELETE', headers: y.as })).status).toBe(404);
    const listedByY = await json(await fetch(`${d.url}/v1/webhook-endpoints`, { headers: y.as }));
    expect(listedByY.endpoints.map((e: { endpointId: string }) => e.endpointId)).toEqual([y.endpointId]);
    // A key without the `webhooks` scope cannot register one, whatever else it may do.
    const { key: submitter } = await createApiKey(d.db, { tenantId: x.tenantId, scopes: ['jobs:submit', 'jobs:read', 'operate'], name: 'no webhooks' });
    expect((await postJson(`${d.url}/v1/webhook-endpoints`, { url: x.receiver.url, eventTypes: ['DepositReceived'] }, { authorization: `Bearer ${submitter}` })).status).toBe(403);

    for (const t of tenants) {
      expect((await postJson(`${d.url}/v1/accounts/${t.accountId}/deposits`, { amount: 111, currency: 'USD' }, { ...t.as, 'Idempotency-Key': uniqueTag('k') })).status).toBe(202);
    }
    for (const t of tenants) {
      await waitFor(`${t.tenantId}'s deposit at its endpoint`, async () => ([...t.receiver.processed.values()].some((b) => b.data.accountId === t.accountId) ? true : undefined));
    }
    // Give a wrong delivery time to arrive, then: each receiver saw its own tenant's deposit only.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const [t, other] of [[x, y], [y, x]] as const) {
      const accounts = t.receiver.requests.map((r) => r.body.data.accountId);
      expect(accounts).toContain(t.accountId);
      expect(accounts).not.toContain(other.accountId);
    }
    // X's delivery is X's job: listed for X, 404 for Y.
    const delivery = await waitFor("X's delivery in its job list", async () => {
      const page = await json(await fetch(`${d.url}/v1/jobs?type=webhook-delivery&pageSize=100`, { headers: x.as }));
      return page.jobs.find((j: { jobId: string }) => j.jobId.startsWith(`webhook-delivery:${x.endpointId}:`));
    });
    expect((await fetch(`${d.url}/v1/jobs/${encodeURIComponent(delivery.jobId)}`, { headers: y.as })).status).toBe(404);
    expect((await fetch(`${d.url}/v1/jobs/${encodeURIComponent(delivery.jobId)}`, { headers: x.as })).status).toBe(200);
    // No delivery was even started from Y's event towards X's endpoint (the activity would skip it too).
    const ofY = await waitFor("Y's delivery in its job list", async () => {
      const page = await json(await fetch(`${d.url}/v1/jobs?type=webhook-delivery&pageSize=100`, { headers: y.as }));
      return page.jobs.length > 0 ? page.jobs : undefined;
    });
    expect(ofY.map((j: { jobId: string }) => j.jobId.split(':')[1])).toEqual([y.endpointId]);
  });

  test('after the last attempt the delivery is a failed job; retried, it is delivered under the same webhook-id', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? 'ok' : 'fail'));
    receivers.push(receiver);
    const endpoint = await register(receiver, ['DepositReceived']);
    const accountId = await openAccount(d.db);
    await deposit(accountId, 700);

    const failed = await waitFor('the delivery to give up', async () => {
      const page = await json(await fetch(`${d.url}/v1/jobs?type=webhook-delivery&status=FAILED&pageSize=100`));
      return page.jobs.find((j: { jobId: string }) => j.jobId.startsWith(`webhook-delivery:${endpoint.endpointId}:`));
    }, 40_000);
    expect(failed.failure).toMatchObject({ type: 'WebhookDeliveryFailed', attempts: 4 });
    expect(failed.failure.message).toContain('gave up after 4 attempts');
    const ids = new Set(receiver.requests.map((r) => r.webhookId));
    expect(ids.size).toBe(1);
    expect(receiver.requests).toHaveLength(4);

    up = true;
    expect((await postJson(`${d.url}/v1/jobs/${encodeURIComponent(failed.jobId)}/retry`, {})).status).toBe(202);
    await waitFor('the retried delivery', async () => (receiver.processed.size === 1 ? true : undefined));
    expect([...receiver.processed.keys()]).toEqual([...ids]);
  });
});

describe('SSRF: by default a webhook may not target loopback, private or link-local addresses', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment();
  });
  afterAll(() => d?.stop());

  test('registration refuses them (422 naming /url) and takes a public URL', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://10.1.2.3/hook',
      'http://172.20.0.1/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://0.0.0.0/',
      'ftp://example.com/hook',
      'https://user:pw@example.com/hook',
      'not a url',
    ]) {
      const res = await postJson(`${d.url}/v1/webhook-endpoints`, { url, eventTypes: ['OrderCreated'] });
      expect([url, res.status]).toEqual([url, 422]);
      expect((await json(res)).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/url']);
    }
    const ok = await postJson(`${d.url}/v1/webhook-endpoints`, { url: 'https://hooks.example.com/conveyor', eventTypes: ['OrderCreated', 'DepositReceived'] });
    expect(ok.status).toBe(201);
    const bad = await postJson(`${d.url}/v1/webhook-endpoints`, { url: 'https://hooks.example.com/x', eventTypes: [], secret: 'nope', extra: 1 });
    expect((await json(bad)).errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/eventTypes', '/extra', '/secret']);
    expect((await fetch(`${d.url}/v1/webhook-endpoints/we_000000000000000000000000`)).status).toBe(404);
    expect((await fetch(`${d.url}/v1/webhook-endpoints/nope`)).status).toBe(400);
  });

  test('a host name that resolves to a private address is refused when the delivery connects', async () => {
    expect(isAllowedAddress('::ffff:10.0.0.1', false)).toBe(false);
    expect(isAllowedAddress('93.184.215.14', false)).toBe(true);
    const name = os.hostname(); // resolved through /etc/hosts, to a loopback address on Debian
    const { address } = await dns.lookup(name);
    expect(isAllowedAddress(address, false)).toBe(false);
    const endpointId = `we_${'1'.repeat(24)}`;
    await webhookEndpoints.create(d.db, { endpointId, tenantId: DEFAULT_TENANT, url: `http://${name}:9/hook`, eventTypes: ['OrderCreated'], secret: `whsec_${Buffer.alloc(32).toString('base64')}` });
    const { deliverWebhook } = createWebhookActivities({ db: d.db });
    const input = { endpointId, webhookId: 'msg_1', eventId: 'e-1', eventType: 'OrderCreated', occurredAt: new Date().toISOString(), data: {}, backoffMs: [], timeoutMs: 1_000, allowPrivateNetworks: false };
    await expect(deliverWebhook(input, 1)).rejects.toMatchObject({ type: 'WebhookUrlNotAllowed', nonRetryable: true });
  });
});

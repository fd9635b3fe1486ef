/**
 * Webhook delivery's Node side: the endpoint registry (table webhook_endpoints), the SSRF rule,
 * Standard Webhooks signing, and the one activity, which makes one HTTP attempt.
 */
import { createHmac, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../../db/database';
import { currentTenant, DEFAULT_TENANT } from '../../platform/tenancy';
import type { WebhookDeliveryInput } from './definition';

// ---- The SSRF rule: which addresses a webhook may reach ----------------------------------------

/** Loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved: never a webhook's target by default. */
const PRIVATE = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) PRIVATE.addSubnet(network, prefix, 'ipv6');

/** True when a webhook may connect to this IP address. */
export function isAllowedAddress(address: string, allowPrivateNetworks: boolean): boolean {
  if (allowPrivateNetworks) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]; // IPv4-mapped IPv6 is its IPv4 address
  const ip = mapped ?? address;
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  return family !== undefined && !PRIVATE.check(ip, family);
}

/**
 * Why this URL may not be a webhook endpoint, or undefined when it may: http(s) only, no
 * credentials, and a host that is not (a literal of) a blocked address. Hostnames are checked
 * again at every delivery, on the addresses they resolve to then (a name may be re-pointed).
 */
export function webhookUrlProblem(raw: string, allowPrivateNetworks: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not contain credentials';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !isAllowedAddress(host, allowPrivateNetworks)) return 'must not target a loopback, private or link-local address';
  if (!allowPrivateNetworks && (host === 'localhost' || host.endsWith('.localhost'))) return 'must not target a loopback, private or link-local address';
  return undefined;
}

/** dns.lookup for http.request that refuses blocked addresses: the check and the connection use the same answer. */
function guardedLookup(allowPrivateNetworks: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, options, (err, address, family) => {
      if (err) return callback(err, address as string, family);
      const all = Array.isArray(address) ? address : [{ address, family }];
      const refused = all.find((a) => !isAllowedAddress(a.address, allowPrivateNetworks));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused.address}, which webhooks may not reach`), { code: 'EWEBHOOKBLOCKED' }), '', 0);
      callback(null, address as string, family);
    });
  };
}

// ---- Standard Webhooks -------------------------------------------------------------------------

/** A new signing secret, as Standard Webhooks writes them: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's decoded bytes. */
export function signWebhook(secret: string, webhookId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`).digest('base64')}`;
}

/** The body of a delivery: the same bytes on every attempt (only the timestamp and signature change). */
export const webhookBody = (input: Pick<WebhookDeliveryInput, 'eventType' | 'occurredAt' | 'data'>) =>
  JSON.stringify({ type: input.eventType, timestamp: input.occurredAt, data: input.data });

// ---- The endpoint registry ---------------------------------------------------------------------

export interface WebhookEndpoint {
  endpointId: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  createdAt: string;
}

const toEndpoint = (row: { endpoint_id: string; tenant_id: string; url: string; event_types: string; created_at: string }): WebhookEndpoint => ({
  endpointId: row.endpoint_id,
  tenantId: row.tenant_id,
  url: row.url,
  eventTypes: JSON.parse(row.event_types) as string[],
  createdAt: row.created_at,
});

export const webhookEndpoints = {
  async create(db: Database, endpoint: { endpointId: string; tenantId: string; url: string; eventTypes: string[]; secret: string }): Promise<WebhookEndpoint> {
    const row = { endpoint_id: endpoint.endpointId, tenant_id: endpoint.tenantId, url: endpoint.url, secret: endpoint.secret, event_types: JSON.stringify(endpoint.eventTypes), created_at: new Date().toISOString() };
    await db.insertInto('webhook_endpoints').values(row).execute();
    return toEndpoint(row);
  },
  /** The tenant's endpoints, newest first, at most `limit`. */
  async list(db: Database, tenantId: string, limit: number): Promise<WebhookEndpoint[]> {
    const rows = await db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('endpoint_id').limit(limit).execute();
    return rows.map(toEndpoint);
  },
  /** The tenant's endpoint with this ID (another tenant's is not found). */
  async get(db: Database, tenantId: string, endpointId: string) {
    const row = await db.selectFrom('webhook_endpoints').selectAll().where('endpoint_id', '=', endpointId).where('tenant_id', '=', tenantId).executeTakeFirst();
    return row && { ...toEndpoint(row), secret: row.secret };
  },
  async delete(db: Database, tenantId: string, endpointId: string): Promise<boolean> {
    const result = await db.deleteFrom('webhook_endpoints').where('endpoint_id', '=', endpointId).where('tenant_id', '=', tenantId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },
  /** The tenant's endpoints subscribed to an event type (a small table read per event; event types are matched in code, portably). */
  async subscribedTo(db: Database, tenantId: string, eventType: string): Promise<WebhookEndpoint[]> {
    const rows = await db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('event_types', 'like', `%${JSON.stringify(eventType)}%`).execute();
    return rows.map(toEndpoint).filter((e) => e.eventTypes.includes(eventType));
  },
};

// ---- The activity ------------------------------------------------------------------------------

/** POST once; resolves with the status of a 2xx answer, rejects with why not. */
function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, allowPrivateNetworks: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? https : http).request(url, { method: 'POST', headers, lookup: guardedLookup(allowPrivateNetworks) }, (res) => {
      res.resume(); // the answer's body is not read: only its status counts
      res.on('end', () => (res.statusCode! >= 200 && res.statusCode! < 300 ? resolve(res.statusCode!) : reject(new Error(`the endpoint answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EWEBHOOKBLOCKED' ? ApplicationFailure.nonRetryable(err.message, 'WebhookUrlNotAllowed') : err),
    );
    request.end(body);
  });
}

export function createWebhookActivities({ db }: { db: Database }) {
  return {
    /** One delivery attempt of one event to one endpoint, signed per Standard Webhooks. */
    async deliverWebhook(input: WebhookDeliveryInput, attempt: number): Promise<{ status: number; skipped?: undefined } | { skipped: string; status?: undefined }> {
      // The delivery runs as its event's tenant (the relay started it so): only that tenant's endpoint is found.
      const endpoint = await webhookEndpoints.get(db, currentTenant() ?? DEFAULT_TENANT, input.endpointId);
      if (!endpoint) return { skipped: 'the endpoint was deleted' };
      const problem = webhookUrlProblem(endpoint.url, input.allowPrivateNetworks);
      if (problem) throw ApplicationFailure.nonRetryable(`endpoint URL ${problem}`, 'WebhookUrlNotAllowed');
      const body = webhookBody(input);
      const timestamp = Math.floor(Date.now() / 1000);
      const status = await post(
        endpoint.url,
        {
          'content-type': 'application/json',
          'user-agent': 'Conveyor-Webhooks/1',
          'webhook-id': input.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(endpoint.secret, input.webhookId, timestamp, body),
          'webhook-attempt': String(attempt),
        },
        body,
        input.timeoutMs,
        input.allowPrivateNetworks,
      );
      return { status };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;

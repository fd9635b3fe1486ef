/**
 * The webhook endpoint registry over HTTP: register a URL for event types (its signing secret is
 * shown once, at creation), list, read, delete. Each endpoint is its tenant's: it receives that
 * tenant's events only, and another tenant's endpoint ID is 404. Deliveries are jobs
 * (webhook-delivery) of the event's tenant, started by the outbox relay for each event of a
 * subscribed type.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import type { Config } from '../platform/config';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { newWebhookSecret, webhookEndpoints, webhookUrlProblem } from '../workflows/webhook-delivery/activities';
import { requireScope } from './auth';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

export const webhookEndpointPath = z.object({ endpointId: z.string().regex(/^we_[0-9a-f]{24}$/, 'must be an endpoint ID such as we_0123456789abcdef01234567') });
const MAX_ENDPOINTS_LISTED = 100;

export const createWebhookEndpointBody = (allowPrivateNetworks: boolean) =>
  z.strictObject({
    url: z
      .string()
      .max(2048)
      .superRefine((url, ctx) => {
        const problem = webhookUrlProblem(url, allowPrivateNetworks);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta({ description: 'Where deliveries are POSTed: http(s), not loopback, private or link-local unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is set.' }),
    eventTypes: z
      .array(z.string().regex(/^[A-Z][A-Za-z0-9]{1,63}$/, 'must be an event type name such as OrderCreated'))
      .min(1)
      .max(32)
      .refine((types) => new Set(types).size === types.length, 'each event type may appear once')
      .meta({ description: 'The domain event types to deliver, e.g. ["OrderCreated", "DepositReceived"].' }),
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by base64 of 24 to 64 bytes')
      .optional()
      .meta({ description: 'The signing secret (Standard Webhooks: whsec_<base64>); generated when omitted.' }),
  });

const endpointUrl = (endpointId: string) => `/v1/webhook-endpoints/${endpointId}`;
const notFound = (endpointId: string) => new HttpProblem(404, 'webhook-endpoint-not-found', 'No such webhook endpoint', `There is no webhook endpoint '${endpointId}'.`);

const tenant = () => currentTenant() ?? DEFAULT_TENANT;

export function webhookEndpointsRouter(db: Database, config: Config): Router {
  const router = Router();
  // An endpoint receives every event of its types of the tenant: its own scope, so that a key that
  // submits or operates jobs cannot redirect the tenant's event stream. Admin keys get no more here.
  router.use('/v1/webhook-endpoints', requireScope('webhooks'));
  const createBody = createWebhookEndpointBody(config.webhooks.allowPrivateNetworks);

  router.post('/v1/webhook-endpoints', requireJson, async (req, res) => {
    const body = parseOrThrow(createBody, req.body, 'body');
    const endpointId = `we_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const secret = body.secret ?? newWebhookSecret();
    const endpoint = await webhookEndpoints.create(db, { endpointId, tenantId: tenant(), url: body.url, eventTypes: body.eventTypes, secret });
    res.status(201).location(endpointUrl(endpointId)).json({ ...endpoint, secret, self: endpointUrl(endpointId) });
  });

  router.get('/v1/webhook-endpoints', async (_req, res) => {
    const endpoints = await webhookEndpoints.list(db, tenant(), MAX_ENDPOINTS_LISTED);
    res.json({ endpoints: endpoints.map((e) => ({ ...e, self: endpointUrl(e.endpointId) })) });
  });

  router.get('/v1/webhook-endpoints/:endpointId', async (req, res) => {
    const { endpointId } = parseOrThrow(webhookEndpointPath, req.params, 'path');
    const endpoint = await webhookEndpoints.get(db, tenant(), endpointId);
    if (!endpoint) throw notFound(endpointId);
    const { secret: _secret, ...shown } = endpoint; // the secret is shown once, at creation
    res.json({ ...shown, self: endpointUrl(endpointId) });
  });

  router.delete('/v1/webhook-endpoints/:endpointId', async (req, res) => {
    const { endpointId } = parseOrThrow(webhookEndpointPath, req.params, 'path');
    if (!(await webhookEndpoints.delete(db, tenant(), endpointId))) throw notFound(endpointId);
    res.status(204).end();
  });

  return router;
}

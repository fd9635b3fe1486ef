import { Router } from 'express';
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey } from '../db/api-keys';
import type { Database } from '../db/database';
import { text } from '../platform/schemas';
import { SCOPES, tenantId } from '../platform/tenancy';
import { requireScope } from './auth';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

const newKey = z.strictObject({
  tenant: tenantId,
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  name: text(100).default(''),
});

/**
 * API keys over HTTP, for the platform's operators (`admin`), beside `npm run keys`: create (the
 * key is in this one answer, never again), list (no secrets: only hashes are stored), revoke.
 */
export function keysRouter(db: Database): Router {
  const router = Router();
  router.use('/v1/keys', requireScope('admin'));

  router.post('/v1/keys', requireJson, async (req, res) => {
    const { tenant, scopes, name } = parseOrThrow(newKey, req.body, 'body');
    const { key, record } = await createApiKey(db, { tenantId: tenant, scopes: [...new Set(scopes)], name });
    res.status(201).set('Cache-Control', 'no-store').json({ ...record, key });
  });

  router.get('/v1/keys', async (req, res) => {
    const { tenant } = parseOrThrow(z.object({ tenant: tenantId.optional() }), req.query, 'query');
    res.json({ keys: await listApiKeys(db, tenant) });
  });

  router.delete('/v1/keys/:keyId', async (req, res) => {
    const { keyId } = parseOrThrow(z.object({ keyId: z.string().regex(/^[a-z0-9]{16}$/) }), req.params, 'path');
    if (!(await revokeApiKey(db, keyId))) throw new HttpProblem(404, 'key-not-found', 'No such active key', `There is no active key '${keyId}'.`);
    res.status(204).end();
  });

  return router;
}

import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Database } from '../db/database';
import type { IdempotencyKeysTable } from '../db/schema';
import type { Logger } from '../platform/logger';
import { idempotentReplays } from '../platform/metrics';
import { currentPrincipal } from '../platform/tenancy';
import { HttpProblem } from './problem';

/**
 * Idempotency-Key for mutating requests, as in the IETF httpapi draft and Stripe's API:
 * - same key, same request → the first response replayed (status, Location, body);
 * - same key, different request → 422; same key while the first is still running → 409;
 * - only successful (2xx) responses are kept: after an error the client may retry with the key.
 * Keys are scoped per tenant and API key and expire after IDEMPOTENCY_KEY_RETENTION.
 */

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A claim this old belongs to a request whose process died; the next retry takes it over. */
const ABANDONED_CLAIM_MS = 30_000;
const REPLAYED_HEADERS = ['location', 'content-type'];

export interface IdempotencyContext {
  scope: string;
  key: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The draft sends the key as a structured-field string ("…"); a bare token is accepted too. */
function parseKey(raw: string): string {
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpProblem(400, 'invalid-idempotency-key', 'Invalid Idempotency-Key header', 'Idempotency-Key must be 1-255 visible ASCII characters (a UUID is a good choice).', {
      errors: [{ pointer: 'Idempotency-Key', detail: 'invalid format' }],
    });
  }
  return key;
}

/**
 * Whose keys these are: the authenticated tenant and key (never a client-chosen header), so one
 * client can neither replay nor block another's keys.
 */
function clientScope(): string {
  const principal = currentPrincipal();
  if (!principal) throw new Error('Idempotency-Key handled before authentication');
  return `${principal.tenantId}:${principal.keyId}`;
}

/** A stable operation ID derived from the client's key: a retry of the request maps to the same job. */
export const operationIdFor = ({ scope, key }: IdempotencyContext) => sha256(`${scope}\n${key}`).slice(0, 32);

/**
 * Claim (scope, key) for this request. Returns undefined when we own it now, or the row that
 * already holds it. Insert-first, so two racing requests cannot both win.
 */
async function claim(db: Database, row: IdempotencyKeysTable): Promise<IdempotencyKeysTable | undefined> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values(row)
      .onConflict((oc) => oc.columns(['scope', 'idempotency_key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return undefined;
    const held = await trx
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', row.scope)
      .where('idempotency_key', '=', row.idempotency_key)
      .executeTakeFirstOrThrow();
    const expired = held.expires_at <= row.created_at;
    const abandoned =
      held.state === 'in_flight' && held.request_hash === row.request_hash && Date.parse(held.created_at) < Date.parse(row.created_at) - ABANDONED_CLAIM_MS;
    if (!expired && !abandoned) return held;
    // Take it over, but only if nobody else did in the meantime (same created_at as we read).
    const taken = await trx
      .updateTable('idempotency_keys')
      .set({ ...row })
      .where('scope', '=', row.scope)
      .where('idempotency_key', '=', row.idempotency_key)
      .where('created_at', '=', held.created_at)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1 ? undefined : held;
  });
}

export function idempotencyKeys({ db, retentionMs, logger }: { db: Database; retentionMs: number; logger: Logger }): RequestHandler {
  return async (req, res, next) => {
    const raw = req.get('Idempotency-Key');
    if (!MUTATING.has(req.method) || raw === undefined) return next();
    const context: IdempotencyContext = { scope: clientScope(), key: parseKey(raw) };
    const requestHash = sha256(`${req.method} ${req.originalUrl}\n${canonicalJson(req.body ?? null)}`);
    const now = Date.now();
    const where = { scope: context.scope, idempotency_key: context.key };

    const held = await claim(db, {
      ...where,
      request_hash: requestHash,
      state: 'in_flight',
      response_status: null,
      response_headers: null,
      response_body: null,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + retentionMs).toISOString(),
    });
    if (held) {
      if (held.request_hash !== requestHash) {
        throw new HttpProblem(422, 'idempotency-key-reused', 'Idempotency-Key already used for a different request', 'This key was first used with another method, path or body; use a new key for a new request.');
      }
      if (held.state === 'in_flight') {
        res.set('Retry-After', '1');
        throw new HttpProblem(409, 'idempotency-key-in-flight', 'A request with this Idempotency-Key is still being processed', 'Retry shortly to receive its response.');
      }
      res.status(held.response_status ?? 200).set(JSON.parse(held.response_headers ?? '{}')).set('Idempotent-Replayed', 'true');
      res.send(held.response_body ?? '');
      idempotentReplays.inc();
      return;
    }

    res.locals.idempotency = context;
    const storeResponse = (status: number, headers: Record<string, string>, body: string) =>
      db
        .updateTable('idempotency_keys')
        .set({ state: 'completed', response_status: status, response_headers: JSON.stringify(headers), response_body: body })
        .where('scope', '=', where.scope)
        .where('idempotency_key', '=', where.idempotency_key)
        .execute();
    const releaseKey = () =>
      db.deleteFrom('idempotency_keys').where('scope', '=', where.scope).where('idempotency_key', '=', where.idempotency_key).execute();
    const headersToReplay = () => Object.fromEntries(REPLAYED_HEADERS.flatMap((h) => (res.get(h) ? [[h, res.get(h)!]] : [])));
    const send = res.send.bind(res);
    // Keep (or release) the key before the response leaves, so a client that retries right
    // after reading it finds the stored answer rather than a 409.
    res.send = (body?: unknown) => {
      res.send = send;
      const text = typeof body === 'string' || Buffer.isBuffer(body) ? body.toString() : JSON.stringify(body ?? '');
      const succeeded = res.statusCode >= 200 && res.statusCode < 300;
      const settle = succeeded ? storeResponse(res.statusCode, headersToReplay(), text) : releaseKey();
      settle
        .catch((err: unknown) => logger.error({ err, idempotencyKey: context.key }, 'could not store the idempotent response'))
        .finally(() => send(text));
      return res;
    };
    next();
  };
}

/** Delete expired keys; the API role runs this periodically. */
export async function purgeExpiredIdempotencyKeys(db: Database, now = new Date()): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}

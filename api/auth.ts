/**
 * Authentication and authorization. Every route but the public ones needs `Authorization: Bearer
 * <credential>`: an API key (db/api-keys.ts), or, when configured, a JWT verified against a JWKS.
 * The principal (tenant, key, scopes) then lives in the request's AsyncLocalStorage
 * (platform/tenancy.ts) for every layer below. Without valid credentials: 401 with
 * `WWW-Authenticate: Bearer`; with a valid one lacking the route's scope: 403.
 */
import type { Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { hashKey, keyIdOf, verifyApiKey, type ApiKeyRecord } from '../db/api-keys';
import type { Database } from '../db/database';
import type { Config } from '../platform/config';
import { currentPrincipal, SCOPES, tenantId as tenantIdSchema, withPrincipal, type Principal, type Scope } from '../platform/tenancy';
import { HttpProblem } from './problem';
import type { RateLimits } from './rate-limits';

/**
 * Served without credentials: probes, the API's description, and Prometheus's scrape (counts and
 * latencies by route, nothing of any tenant's; keep it off the public network, see docs/operations.md).
 */
export const PUBLIC_PATHS = ['/healthz', '/readyz', '/openapi.json', '/docs', '/metrics'];
export const isPublicPath = (path: string) => PUBLIC_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
const isPublic = (req: Request) =>
  isPublicPath(req.path) ||
  // A browser's CORS preflight never carries credentials; the codec server answers it (api/codec-server.ts).
  (req.method === 'OPTIONS' && req.path.startsWith('/codecs/'));

/**
 * A verified key is remembered this long, so a burst of requests costs one lookup; a revoked key
 * stops working within this time, in every API process, without a restart.
 */
export const KEY_CACHE_MS = 1_000;
const KEY_CACHE_MAX = 10_000;

const unauthorized = (res: Response, detail: string, error?: 'invalid_token') => {
  res.set('WWW-Authenticate', `Bearer realm="conveyor"${error ? `, error="${error}"` : ''}`);
  return new HttpProblem(401, 'unauthorized', 'Unauthorized', detail);
};

export function authenticate({ db, config, limits }: { db: Database; config: Config; limits: RateLimits }): RequestHandler {
  const cache = new Map<string, { record: ApiKeyRecord | undefined; until: number }>();
  async function apiKey(key: string): Promise<Principal | undefined> {
    const hash = hashKey(key);
    const now = Date.now();
    let hit = cache.get(hash);
    if (!hit || hit.until <= now) {
      if (cache.size >= KEY_CACHE_MAX) cache.clear();
      hit = { record: await verifyApiKey(db, key), until: now + KEY_CACHE_MS };
      cache.set(hash, hit);
    }
    return hit.record && { tenantId: hit.record.tenantId, keyId: hit.record.keyId, scopes: new Set(hit.record.scopes) };
  }

  const jwt = config.auth.jwt;
  const jwks = jwt ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  async function token(credential: string): Promise<Principal | undefined> {
    if (!jwt || !jwks) return undefined;
    let payload: JWTPayload;
    try {
      // `algorithms` lists asymmetric ones only (config), so `alg: none` and an HMAC signed with the
      // public key as its secret are both refused; jose checks exp/nbf, issuer and audience.
      ({ payload } = await jwtVerify(credential, jwks, { issuer: jwt.issuer, audience: jwt.audience, algorithms: jwt.algorithms, requiredClaims: ['exp', 'sub'] }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
    const tenant = tenantIdSchema.safeParse(payload[jwt.tenantClaim]);
    if (!tenant.success) return undefined;
    const claimed = payload[jwt.scopeClaim];
    const scopes = typeof claimed === 'string' ? claimed.split(' ') : Array.isArray(claimed) ? claimed.filter((s) => typeof s === 'string') : [];
    return { tenantId: tenant.data, keyId: `jwt:${payload.sub}`, scopes: new Set(scopes.filter((s) => (SCOPES as readonly string[]).includes(s))) };
  }

  return async (req, res, next) => {
    // The client's address: the socket's, or, behind a proxy named by TRUST_PROXY, the one it forwards.
    const address = req.ip ?? 'unknown';
    if (isPublic(req)) {
      await limits.publicRoute(res, address);
      return next();
    }
    limits.refuseBlockedAddress(res, address);
    const header = req.get('Authorization');
    if (!header) {
      await limits.reportAddress(res, address);
      throw unauthorized(res, 'Send an API key: Authorization: Bearer <key> (npm start writes a development key to .data/dev-api-key).');
    }
    const credential = /^Bearer ([\x21-\x7e]{1,4096})$/i.exec(header)?.[1];
    const principal = credential ? await (keyIdOf(credential) ? apiKey(credential) : token(credential)) : undefined;
    if (!principal) {
      await limits.countFailure(res, address);
      throw unauthorized(res, 'The credentials are not valid (unknown, revoked or expired).', 'invalid_token');
    }
    res.locals.principal = principal;
    withPrincipal(principal, next);
  };
}

/** The route needs this scope: 403 for a valid key without it. */
export const requireScope =
  (scope: Scope): RequestHandler =>
  (_req, _res, next) => {
    const principal = currentPrincipal();
    if (principal?.scopes.has(scope)) return next();
    next(new HttpProblem(403, 'forbidden', 'Forbidden', `This route needs the '${scope}' scope; the credentials hold ${principal && principal.scopes.size > 0 ? [...principal.scopes].map((s) => `'${s}'`).join(', ') : 'none'}.`));
  };

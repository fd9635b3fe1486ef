/**
 * Rate limits (rate-limiter-flexible): per API key a sustained rate plus a burst, a lower one for
 * job submissions, per source address for failed authentications, and per source address for the
 * public routes. Key and failed-authentication counters live in PostgreSQL when the app database
 * does (so the limits hold across API processes), in memory on SQLite (one API process). Every
 * answer carries the IETF `RateLimit-Policy` and `RateLimit` headers
 * (draft-ietf-httpapi-ratelimit-headers) of the limit that applied to it; over a limit: 429 with
 * `Retry-After`. The source address is Express's `req.ip`: the socket's, unless TRUST_PROXY names
 * the proxy in front.
 */
import type { RequestHandler, Response } from 'express';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../platform/config';
import { currentPrincipal } from '../platform/tenancy';
import { HttpProblem } from './problem';

/** The burst allowance refills over this window. */
const BURST_WINDOW_S = 10;

interface Bucket {
  name: string;
  sustained: RateLimiterAbstract;
  burst?: RateLimiterAbstract;
  policy: string;
  /** Who is over the limit, for the 429's detail. */
  over: string;
}

const secondsUntil = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Add one limit to the answer's headers. Both headers are lists: a job submission reports the key's
 * limit and the submission limit, each under its name, as the draft allows.
 */
function report(res: Response, policy: string, state: string): void {
  const add = (name: string, value: string) => res.set(name, [res.get(name), value].filter(Boolean).join(', '));
  add('RateLimit-Policy', policy);
  add('RateLimit', state);
}

export function createRateLimits(config: Config) {
  const limits = config.rateLimits;
  const pool = config.database.kind === 'postgres' ? new pg.Pool({ connectionString: config.database.url, max: 4, allowExitOnIdle: true }) : undefined;
  type Limiter = (keyPrefix: string, points: number, duration: number) => RateLimiterAbstract;
  const inMemory: Limiter = (keyPrefix, points, duration) => new RateLimiterMemory({ keyPrefix, points, duration });
  const shared: Limiter = (keyPrefix, points, duration) =>
    pool ? new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: 'rate_limits', tableCreated: true, keyPrefix, points, duration }) : inMemory(keyPrefix, points, duration);
  const bucket = (limiter: Limiter, name: string, rps: number, burst: number, over: string): Bucket => ({
    name,
    sustained: limiter(`${name}`, rps, 1),
    burst: burst > 0 ? limiter(`${name}-burst`, burst, BURST_WINDOW_S) : undefined,
    policy: `"${name}";q=${rps};w=1${burst > 0 ? `, "${name}-burst";q=${burst};w=${BURST_WINDOW_S}` : ''}`,
    over,
  });
  const perKey = bucket(shared, 'key', limits.rps, limits.burst, 'This API key is over its request rate limit');
  const submit = bucket(shared, 'submit', limits.submitRps, limits.submitBurst, 'This API key is over its job submission rate limit');
  // In memory, per API process, even on PostgreSQL: a liveness probe must answer while the database
  // is down, and what it protects (this process's work for /readyz, /metrics, /docs) is per process.
  const publicRoutes = bucket(inMemory, 'address', limits.publicRps, limits.publicBurst, 'This address is over the rate limit of the public routes');
  const authFailures = shared('auth-failures', limits.authFailuresPerMinute, 60);

  /** Take one request from the bucket (its burst when the sustained rate is spent); sets the headers; throws 429 when both are spent. */
  async function take(res: Response, b: Bucket, key: string): Promise<void> {
    let remaining: number;
    let resetMs: number;
    try {
      const taken = await b.sustained.consume(key);
      remaining = taken.remainingPoints;
      resetMs = taken.msBeforeNext;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (!b.burst) return refuse(res, b, err.msBeforeNext);
      try {
        const fromBurst = await b.burst.consume(key);
        remaining = 0;
        resetMs = Math.min(err.msBeforeNext, fromBurst.msBeforeNext);
      } catch (burstErr) {
        if (!(burstErr instanceof RateLimiterRes)) throw burstErr;
        return refuse(res, b, err.msBeforeNext);
      }
    }
    report(res, b.policy, `"${b.name}";r=${remaining};t=${secondsUntil(resetMs)}`);
  }

  function refuse(res: Response, b: Bucket, msBeforeNext: number): never {
    const seconds = secondsUntil(msBeforeNext);
    res.set('Retry-After', String(seconds));
    report(res, b.policy, `"${b.name}";r=0;t=${seconds}`);
    throw new HttpProblem(429, 'rate-limited', 'Too Many Requests', `${b.over}; retry in ${seconds} s.`, {
      retryAfterSeconds: seconds,
    });
  }

  const authPolicy = `"auth-failures";q=${limits.authFailuresPerMinute};w=60`;
  const blockedUntil = new Map<string, number>();
  function refuseAddress(res: Response, ms: number): never {
    const seconds = secondsUntil(ms);
    res.set({ 'Retry-After': String(seconds), 'RateLimit-Policy': authPolicy, RateLimit: `"auth-failures";r=0;t=${seconds}` });
    throw new HttpProblem(429, 'rate-limited', 'Too Many Requests', `Too many failed authentications from this address; retry in ${seconds} s.`, { retryAfterSeconds: seconds });
  }

  return {
    /** After authentication: one request from the key's bucket. */
    perKey: (async (_req, res, next) => {
      const principal = currentPrincipal();
      if (principal) await take(res, perKey, `${principal.tenantId}:${principal.keyId}`);
      next();
    }) as RequestHandler,
    /** On submit routes: one from the key's (lower) submission bucket too. */
    submit: (async (_req, res, next) => {
      const principal = currentPrincipal();
      if (principal) await take(res, submit, `${principal.tenantId}:${principal.keyId}`);
      next();
    }) as RequestHandler,
    /**
     * Before checking credentials: refuse an address that failed too often (429), whatever it sends
     * now, so a guesser cannot tell a hit from a refusal. A local note of the block, so requests
     * cost no store lookup; another API process notes it at that address's next failure there.
     */
    refuseBlockedAddress(res: Response, address: string): void {
      const until = blockedUntil.get(address);
      if (until === undefined) return;
      if (until <= Date.now()) blockedUntil.delete(address);
      else refuseAddress(res, until - Date.now());
    },
    /** A public route: one request from the address's bucket. */
    publicRoute: (res: Response, address: string): Promise<void> => take(res, publicRoutes, address),
    /**
     * A request without credentials is not a guess and is not counted, but the failed-authentication
     * limit is what decides whether this address is served at all: its state goes in the headers.
     */
    async reportAddress(res: Response, address: string): Promise<void> {
      const state = await authFailures.get(address);
      const remaining = Math.max(0, limits.authFailuresPerMinute - (state?.consumedPoints ?? 0));
      res.set({ 'RateLimit-Policy': authPolicy, RateLimit: `"auth-failures";r=${remaining};t=${secondsUntil(state?.msBeforeNext ?? 60_000)}` });
    },
    /** Count one failed authentication of `address`: its remaining allowance in the headers, or 429 once it is spent. */
    async countFailure(res: Response, address: string): Promise<void> {
      const counted = await authFailures.penalty(address, 1);
      if (counted.consumedPoints > limits.authFailuresPerMinute) {
        if (blockedUntil.size >= 10_000) blockedUntil.clear();
        blockedUntil.set(address, Date.now() + counted.msBeforeNext);
        refuseAddress(res, counted.msBeforeNext);
      }
      res.set({ 'RateLimit-Policy': authPolicy, RateLimit: `"auth-failures";r=${limits.authFailuresPerMinute - counted.consumedPoints};t=${secondsUntil(counted.msBeforeNext)}` });
    },
    close: async () => {
      await pool?.end();
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;

/**
 * The codec server: the Temporal Web UI (or `temporal --codec-endpoint`) sends it the encrypted
 * payloads of a history and gets the clear ones back, so a person can read a workflow's input in
 * the UI while the Temporal server and its database only ever hold ciphertext.
 *
 * Decoding hands out PII, so every call needs an API key (or JWT) with the `codec` scope, a platform
 * scope like `admin`: the payload keys are the namespace's, so whoever decodes reads every tenant's
 * payloads. Authentication is the API's own (api/auth.ts, mounted between the two halves below).
 * Browsers may call it only from the Web UI's origin (TEMPORAL_UI_URL), and only for this
 * deployment's namespace.
 */
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { AesGcmCodec, loadCodecKeys } from '../platform/codec';
import type { Config } from '../platform/config';
import { requireScope } from './auth';
import { limitBodyDepth } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

/** A history page can carry many payloads; the rest of the API keeps its 16 KB limit. */
const BODY_LIMIT = '4mb';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
/** Temporal's JSON form of Payloads: bytes as base64. */
export const payloadsBody = z.strictObject({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() })).max(10_000),
});

type JsonPayload = z.infer<typeof payloadsBody>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const allowedOriginOf = (config: Config) => (config.temporal.uiUrl ? new URL(config.temporal.uiUrl).origin : undefined);

/**
 * CORS headers on every /codecs answer, mounted before authentication so that its 401s carry them
 * too (the Web UI can then read why a call failed).
 */
export function codecCors(config: Config): RequestHandler {
  const allowedOrigin = allowedOriginOf(config);
  return (req, res, next) => {
    if (!req.path.startsWith('/codecs')) return next();
    const origin = req.get('Origin');
    if (origin !== undefined && origin === allowedOrigin) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      });
    } else {
      res.set('Vary', 'Origin');
    }
    next();
  };
}

/** The codec routes, after authentication (a preflight passes it without credentials). */
export function codecServerRouter(config: Config): Router {
  const router = Router();
  const allowedOrigin = allowedOriginOf(config);
  const keys = loadCodecKeys(config.temporal.codec);
  // No keys: nothing was encrypted, so both directions are the identity.
  const codec: PayloadCodec = keys ? new AesGcmCodec(keys) : { encode: async (p) => p, decode: async (p) => p };

  const originCheck: RequestHandler = (req, res, next) => {
    const origin = req.get('Origin');
    if (req.method === 'OPTIONS') {
      // A preflight from any other origin gets no CORS headers: the browser refuses the call.
      res.status(origin !== undefined && origin === allowedOrigin ? 204 : 403).end();
      return;
    }
    // A browser on another origin cannot read the answer anyway; refuse before doing any work.
    if (origin !== undefined && origin !== allowedOrigin) {
      return next(new HttpProblem(403, 'origin-not-allowed', 'Origin not allowed', `Only the Temporal Web UI (${allowedOrigin ?? 'TEMPORAL_UI_URL, unset'}) may call the codec server from a browser.`));
    }
    next();
  };

  const namespaceAndType: RequestHandler = (req, res, next) => {
    const namespace = req.get('X-Namespace');
    // The Web UI always names the namespace; the CLI may not. Our keys belong to one namespace only.
    if (namespace !== undefined && namespace !== config.temporal.namespace) {
      return next(new HttpProblem(403, 'wrong-namespace', 'Namespace not served', `This codec server holds the keys of namespace '${config.temporal.namespace}' only.`));
    }
    if (!req.is('application/json')) {
      return next(new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', 'Send {"payloads": [...]} as application/json.'));
    }
    res.set('Cache-Control', 'no-store'); // decoded payloads are PII: no cache keeps them
    next();
  };

  const route = (direction: 'encode' | 'decode'): RequestHandler => async (req, res, next) => {
    try {
      const { payloads } = parseOrThrow(payloadsBody, req.body, 'body');
      const converted = await codec[direction](payloads.map(fromJson)).catch((err: unknown) => {
        throw new HttpProblem(422, 'undecodable-payload', 'Cannot decode the payloads', (err as Error).message);
      });
      res.json({ payloads: converted.map(toJson) });
    } catch (err) {
      next(err);
    }
  };

  router.use('/codecs', originCheck);
  const guard = [requireScope('codec'), namespaceAndType, express.json({ limit: BODY_LIMIT, strict: true }), limitBodyDepth];
  router.post('/codecs/decode', ...guard, route('decode'));
  router.post('/codecs/encode', ...guard, route('encode'));
  return router;
}

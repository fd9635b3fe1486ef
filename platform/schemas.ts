/**
 * Validation pieces that every job's input and every route share (zod). Request schemas are
 * strict objects, so an unknown field is an error, not ignored.
 */
import { z } from 'zod';
import { ownId } from './tenant-ids';

/**
 * An ID that becomes part of a workflow ID (users, accounts, orders, SKUs): no ':' '/' or spaces,
 * so `order:<id>` stays unambiguous, and nothing a URL or a search attribute would mangle.
 */
export const businessId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 characters: letters, digits, "_", "." or "-", starting with a letter or digit');

/**
 * A business ID the client chose for one of its own resources (a user, account, order, restock):
 * parsed under the request's tenant into the internal ID that carries it (platform/tenant-ids.ts),
 * so another tenant's resource of the same ID is never found, joined or refused as taken. Shared
 * names (SKUs, suppliers, fairness keys) stay plain `businessId`s.
 */
export const ownedId = businessId.transform(ownId);

/** An internal ID as `ownedId` made it (a stored message's, e.g. the outbox's): not qualified again. */
export const internalId = z.string().regex(/^([a-z0-9][a-z0-9-]{0,62}~)?[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a business ID, optionally qualified by its tenant');

export const email = z.email().max(254);

/** X-Correlation-Id: echoed in logs, headers and search attributes, so keep it short and plain. */
export const correlationId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "_", ":" or "-"');

/** Minor units (cents): a whole, positive number that JavaScript can hold exactly. */
export const amount = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const currency = z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as "EUR"');

/**
 * Characters a one-line text (a name, a reason) may not hold: they reach email bodies, headers and
 * the Web UI, where they forge lines (CR/LF), hide text (bidirectional overrides) or are garbage
 * (C0/C1 controls, U+FFFD from invalid UTF-8 bytes).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_IN_TEXT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]/u;

/**
 * One line of human text, at most `max` characters: trimmed, normalised to NFC, refused (422,
 * naming the field) when it holds a control character, a line break, a bidirectional override or
 * mark, an unpaired surrogate, or U+FFFD. The same rule on every route.
 */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/\p{Cs}/u.test(s), 'must not contain unpaired surrogates')
    .refine((s) => !FORBIDDEN_IN_TEXT.test(s), 'must not contain control characters, line breaks, bidirectional controls or U+FFFD (invalid UTF-8)')
    .transform((s) => s.normalize('NFC'));

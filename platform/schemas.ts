/**
 * Validation pieces that every job's input and every route share (zod). Request schemas are
 * strict objects, so an unknown field is an error, not ignored.
 */
import { z } from 'zod';

/**
 * An ID that becomes part of a workflow ID (users, accounts, orders, SKUs): no ':' '/' or spaces,
 * so `order:<id>` stays unambiguous, and nothing a URL or a search attribute would mangle.
 */
export const businessId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 characters: letters, digits, "_", "." or "-", starting with a letter or digit');

export const email = z.email().max(254);

/** X-Correlation-Id: echoed in logs, headers and search attributes, so keep it short and plain. */
export const correlationId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "_", ":" or "-"');

/** Minor units (cents): a whole, positive number that JavaScript can hold exactly. */
export const amount = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const currency = z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as "EUR"');

import { z } from 'zod';
import { ACCOUNT_ID_PATTERN, USER_ID_PATTERN } from '../workflows/definitions';

/** Request bodies and path parameters; strict objects, so an unknown field is an error, not ignored. */
export const userId = z
  .string()
  .regex(USER_ID_PATTERN, 'must be 1-64 characters: letters, digits, "_", "." or "-", starting with a letter or digit');

export const userPath = z.object({ userId });

export const welcomeEmailRequest = z.strictObject({
  userId,
  email: z.email().max(254),
  name: z.string().trim().min(1).max(100),
});

/** X-Correlation-Id: echoed in logs, headers and search attributes, so keep it short and plain. */
export const correlationId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "_", ":" or "-"');

export const accountPath = z.object({
  accountId: z.string().regex(ACCOUNT_ID_PATTERN, 'must be 1-64 characters: letters, digits, "_", "." or "-", starting with a letter or digit'),
});

export const depositRequest = z.strictObject({
  /** Minor units (cents): a whole, positive number that JavaScript can hold exactly. */
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as "EUR"'),
});

export const emailChangeRequest = z.strictObject({
  email: z.email().max(254),
});

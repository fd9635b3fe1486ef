import { z } from 'zod';
import { ACCOUNT_ID_PATTERN, carrierEventTypes, ORDER_ID_PATTERN, SKU_PATTERN, USER_ID_PATTERN } from '../workflows/definitions';

/** Request bodies and path parameters; strict objects, so an unknown field is an error, not ignored. */
/** An ID that becomes part of a workflow ID. */
const businessId = (pattern: RegExp) => z.string().regex(pattern, 'must be 1-64 characters: letters, digits, "_", "." or "-", starting with a letter or digit');

export const userId = businessId(USER_ID_PATTERN);

export const userPath = z.object({ userId });

export const welcomeEmailRequest = z.strictObject({
  userId,
  email: z.email().max(254),
  name: z.string().trim().min(1).max(100),
});

/** X-Correlation-Id: echoed in logs, headers and search attributes, so keep it short and plain. */
export const correlationId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "_", ":" or "-"');

const accountId = businessId(ACCOUNT_ID_PATTERN);
export const accountPath = z.object({ accountId });

export const depositRequest = z.strictObject({
  /** Minor units (cents): a whole, positive number that JavaScript can hold exactly. */
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as "EUR"'),
});

export const emailChangeRequest = z.strictObject({
  email: z.email().max(254),
});

const orderId = businessId(ORDER_ID_PATTERN);
const sku = businessId(SKU_PATTERN);
export const orderPath = z.object({ orderId });
export const skuPath = z.object({ sku });

export const orderRequest = z.strictObject({
  /** Optional: derived from the Idempotency-Key when there is one, otherwise generated. */
  orderId: orderId.optional(),
  customerId: businessId(USER_ID_PATTERN),
  items: z
    .array(z.strictObject({ sku, quantity: z.number().int().positive().max(1_000) }))
    .min(1)
    .max(50)
    .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, 'each SKU may appear once; add up its quantity instead'),
  paymentAccountId: accountId,
});

export const cancelOrderRequest = z.strictObject({
  reason: z.string().trim().min(1).max(200).default('canceled by the customer'),
});

export const carrierEventRequest = z.strictObject({
  type: z.enum(carrierEventTypes),
});

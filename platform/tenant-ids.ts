/**
 * Business IDs are per tenant: tenant A's order `o-1` and tenant B's order `o-1` are two orders.
 * The API turns the ID a client chose into an internal ID that carries the tenant
 * (`<tenant>~<id>`, the `ownedId` schema of platform/schemas.ts), and every layer below uses that
 * internal ID unchanged: workflow IDs (`order:acme~o-1`), child IDs, rows, operation keys, email
 * idempotency keys and event IDs are all derived from it, so none of them can meet another
 * tenant's. Views show the client's ID again (api/present-ids.ts).
 *
 * `~` is in neither a client ID (platform/schemas.ts `businessId`) nor a tenant ID, so a qualified
 * ID can never equal an unqualified one or another tenant's. The default tenant (`npm start`'s
 * development key, and every row written before tenancy existed) keeps its IDs unqualified: its
 * rows and running jobs needed no renaming, and its IDs cannot meet a qualified one either.
 */
import { currentTenant, DEFAULT_TENANT } from './tenancy';

const SEPARATOR = '~';

/** The internal ID of `tenant`'s `id`. */
export const qualifiedId = (tenant: string | undefined, id: string): string =>
  tenant === undefined || tenant === DEFAULT_TENANT || id.startsWith(`${tenant}${SEPARATOR}`) ? id : `${tenant}${SEPARATOR}${id}`;

/** The internal ID of the caller's `id` (the request's tenant; unchanged for internal work). */
export const ownId = (id: string): string => qualifiedId(currentTenant(), id);

/** The ID as its client wrote it: the internal ID without its tenant. */
export const clientIdOf = (id: string): string => id.replace(/^[a-z0-9][a-z0-9-]*~/, '');

/**
 * A job ID (`<type>:<business key>…`) as the caller wrote it, made internal: its business key
 * qualified (`order:o-1` → `order:acme~o-1`). Job IDs without a client-chosen key (webhook
 * deliveries, jobs started before business IDs were per tenant) are found by `legacyJobId`.
 */
export function ownJobId(jobId: string): string {
  const tenant = currentTenant();
  const match = /^([A-Za-z0-9-]+):(.+)$/.exec(jobId);
  return match ? `${match[1]}:${qualifiedId(tenant, match[2]!)}` : jobId;
}

/** The job ID `ownJobId` made, without the tenant it added (undefined when it added none). */
export function legacyJobId(jobId: string): string | undefined {
  const tenant = currentTenant();
  if (tenant === undefined || tenant === DEFAULT_TENANT) return undefined;
  const stripped = jobId.replace(`:${tenant}${SEPARATOR}`, ':');
  return stripped === jobId ? undefined : stripped;
}

/**
 * `text` with `tenant`'s qualifications removed wherever an ID starts: at the start, after a
 * separator such as ':' '/' '%3A' or a space. Only the caller's own tenant is removed (its views
 * hold nothing else).
 */
export function withoutTenant(text: string, tenant: string): string {
  if (tenant === DEFAULT_TENANT) return text;
  return text.replace(new RegExp(`(?<![a-z0-9-])${tenant}${SEPARATOR}`, 'g'), '');
}

/**
 * Views show the IDs clients chose: every JSON answer (problem details included) and its
 * Location header lose the caller's tenant qualification (platform/tenant-ids.ts), in one place,
 * so no route can forget it. Web UI links keep the internal workflow ID: that is what the Temporal
 * Web UI knows the job by. (A text field of the caller's own that happens to contain
 * `<its tenant>~` is shown without it: cosmetic, and only to that tenant.)
 */
import type { RequestHandler } from 'express';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { withoutTenant } from '../platform/tenant-ids';

/** Fields whose value names the workflow in Temporal itself, not in Conveyor's API. */
const INTERNAL_LINKS = new Set(['webUiUrl']);

function present(value: unknown, tenant: string): unknown {
  if (typeof value === 'string') return withoutTenant(value, tenant);
  if (Array.isArray(value)) return value.map((v) => present(v, tenant));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, INTERNAL_LINKS.has(k) ? v : present(v, tenant)]));
  }
  return value;
}

/** Mounted after authentication: the tenant is known from then on. */
export const presentClientIds: RequestHandler = (_req, res, next) => {
  const tenant = currentTenant();
  if (tenant === undefined || tenant === DEFAULT_TENANT) return next();
  const json = res.json.bind(res);
  const location = res.location.bind(res);
  res.json = (body?: unknown) => json(present(body, tenant));
  res.location = (url: string) => location(withoutTenant(url, tenant));
  next();
};

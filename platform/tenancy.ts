/**
 * Who is asking: the authenticated principal of an HTTP request (its tenant, key and scopes), kept
 * in an AsyncLocalStorage like the correlation ID, so every layer (the Temporal gateway, the
 * routes, db helpers that stamp rows with their tenant) reads it without threading it through.
 * Activities get the tenant of the workflow that scheduled them (the `tenant-id` header, set by
 * workflows/interceptors.ts from the workflow's TenantId search attribute).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { z } from 'zod';
import { TENANT_HEADER } from './temporal-keys';

/** Scopes match the API's roles; a key holds any subset. */
export const SCOPES = ['jobs:submit', 'jobs:read', 'operate', 'carrier', 'webhooks', 'admin', 'codec'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The platform's scopes: their routes reach every tenant's data (keys, consumer groups, the dev
 * mailbox; the codec server decodes any tenant's payloads, the payload keys being the namespace's).
 * Give them to your operators only; every other scope acts on its key's tenant alone.
 */
export const PLATFORM_SCOPES: readonly Scope[] = ['admin', 'codec'];

/**
 * The tenant of rows written before tenancy existed, of `npm start`'s development key and of the
 * test deployments' key. Nothing else is special about it.
 */
export const DEFAULT_TENANT = 'default';

/** Tenant IDs: short, lowercase, safe in a search-attribute query and a log line. */
export const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 characters: lowercase letters, digits and "-", starting with a letter or digit');

export interface Principal {
  tenantId: string;
  /** The API key's ID, or `jwt:<subject>` for a JWT. */
  keyId: string;
  scopes: ReadonlySet<string>;
}

const principals = new AsyncLocalStorage<Principal>();
const activityTenants = new AsyncLocalStorage<string>();

export const currentPrincipal = (): Principal | undefined => principals.getStore();

/** The tenant on whose behalf this code runs: the request's, or the workflow's (in an activity); undefined for internal work. */
export const currentTenant = (): string | undefined => principals.getStore()?.tenantId ?? activityTenants.getStore();

export const withPrincipal = <T>(principal: Principal, fn: () => T): T => principals.run(principal, fn);

/** Run `fn` on behalf of `tenant` (the outbox relay, for a row some tenant's request wrote). */
export const withTenant = <T>(tenant: string, fn: () => T): T => activityTenants.run(tenant, fn);

/** Activities run as the tenant of the workflow that scheduled them. */
export const tenantActivityInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    execute(input, next) {
      const header = input.headers[TENANT_HEADER];
      const tenant = header ? (defaultPayloadConverter.fromPayload(header) as string) : undefined;
      return tenant ? activityTenants.run(tenant, () => next(input)) : next(input);
    },
  },
});

/**
 * Business IDs are per tenant (platform/tenant-ids.ts). The schemas that read a client's ID are
 * checked here from the registry and the routes' own schemas, so a new job type, route or field
 * that takes a resource's ID as a plain `businessId` (a global ID another tenant could probe or
 * squat) fails this test rather than slipping through. The migration that qualified the rows of
 * existing tenants runs here on SQLite and PostgreSQL.
 */
import { Kysely, Migrator } from 'kysely';
import { z } from 'zod';
import { accountPath } from '../../api/accounts';
import { jobIdPath } from '../../api/jobs';
import { userPath } from '../../api/users';
import { dialectFor, type Database } from '../../db/database';
import { migrations } from '../../db/migrations';
import type { DatabaseSchema } from '../../db/schema';
import { withPrincipal } from '../../platform/tenancy';
import { clientIdOf, legacyJobId, ownJobId, qualifiedId, withoutTenant } from '../../platform/tenant-ids';
import { jobs } from '../../workflows/registry';
import { testDatabases } from '../support/databases';

const asTenant = <T>(tenantId: string, fn: () => T) => withPrincipal({ tenantId, keyId: 'k', scopes: new Set() }, fn);

/** Names shared by every tenant on purpose: the catalog's SKUs, suppliers, and a customer label. */
const SHARED = new Set(['sku', 'supplier', 'customerId']);

/** Every field of a zod object schema whose value is a single ID-like string. */
function idFields(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape ?? {};
  return Object.keys(shape).filter((k) => /Id$|^sku$|^supplier$/.test(k));
}

describe('client-chosen IDs are parsed into their tenant', () => {
  const schemas: Array<[string, z.ZodType]> = [
    ['accountPath', accountPath],
    ['userPath', userPath],
    ...jobs.flatMap((job): Array<[string, z.ZodType]> => [
      ...(job.submit?.params ? [[`${job.name} submit params`, job.submit.params] as [string, z.ZodType]] : []),
      ...(job.submit ? [[`${job.name} submit body`, job.submit.body] as [string, z.ZodType]] : []),
      ...(job.status ? [[`${job.name} status params`, job.status.params] as [string, z.ZodType]] : []),
      ...(job.messages ?? []).map((m): [string, z.ZodType] => [`${job.name} ${m.path}`, m.params]),
      ...(job.lane ? [[`${job.name} lane item`, job.lane.item] as [string, z.ZodType]] : []),
    ]),
  ];

  test.each(schemas)('%s', (_name, schema) => {
    const fields = idFields(schema);
    for (const field of fields) {
      // Parse the field alone (the rest of a body is not this test's business).
      const fieldSchema = (schema as unknown as { shape: Record<string, z.ZodType> }).shape[field]!;
      const parsed = asTenant('acme', () => fieldSchema.parse('x-1'));
      expect(`${field} → ${parsed}`).toBe(`${field} → ${SHARED.has(field) ? 'x-1' : 'acme~x-1'}`);
      // The default tenant's IDs are what the client wrote; a qualified ID is never a client's.
      expect(asTenant('default', () => fieldSchema.parse('x-1'))).toBe('x-1');
      expect(fieldSchema.safeParse('acme~x-1').success).toBe(false);
    }
  });

  test('the schemas above hold the routes that take a resource ID', () => {
    const covered = schemas.flatMap(([, schema]) => idFields(schema)).filter((f) => !SHARED.has(f));
    expect(new Set(covered)).toEqual(new Set(['accountId', 'userId', 'orderId', 'paymentAccountId', 'restockId']));
  });

  test('job IDs: qualified on the way in, found again without the tenant, shown as the client wrote them', () => {
    expect(asTenant('acme', () => jobIdPath.parse({ jobId: 'order:o-1' }).jobId)).toBe('order:acme~o-1');
    expect(asTenant('acme', () => ownJobId('deposit:a-1:op'))).toBe('deposit:acme~a-1:op');
    expect(asTenant('acme', () => ownJobId('order:acme~o-1'))).toBe('order:acme~o-1');
    expect(asTenant('default', () => ownJobId('order:o-1'))).toBe('order:o-1');
    expect(asTenant('acme', () => legacyJobId('order:acme~o-1'))).toBe('order:o-1');
    expect(asTenant('default', () => legacyJobId('order:o-1'))).toBeUndefined();
    expect(withoutTenant('/v1/jobs/order%3Aacme~o-1', 'acme')).toBe('/v1/jobs/order%3Ao-1');
    expect(withoutTenant("There is no order 'acme~o-1'; see order:acme~o-1/x", 'acme')).toBe("There is no order 'o-1'; see order:o-1/x");
    // Another tenant whose name ends like this one is left alone.
    expect(withoutTenant('order:bacme~o-1', 'acme')).toBe('order:bacme~o-1');
    expect(clientIdOf('acme~o-1')).toBe('o-1');
    expect(clientIdOf('o-1')).toBe('o-1');
    expect(qualifiedId('default', 'o-1')).toBe('o-1');
  });
});

describe.each(testDatabases())('migration 0010 on %s', (_name, target) => {
  let db: Database;
  afterAll(() => db?.destroy());

  test("other tenants' rows get qualified IDs, references included; the default tenant's stay", async () => {
    // A fresh database at the schema before the migration, with rows of two tenants.
    db = new Kysely<DatabaseSchema>({ dialect: dialectFor(await target()) });
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('0009_tenant_consumer_groups')).error).toBeUndefined();
    const now = new Date().toISOString();
    for (const tenant of ['default', 'acme']) {
      await db.insertInto('accounts').values({ account_id: 'a-1', tenant_id: tenant, email: null, currency: 'USD', balance: 5, created_at: now, updated_at: now }).onConflict((oc) => oc.doNothing()).execute();
    }
    // Account IDs were global before: acme's account is another ID.
    await db.insertInto('accounts').values({ account_id: 'a-2', tenant_id: 'acme', email: null, currency: 'USD', balance: 7, created_at: now, updated_at: now }).execute();
    await db.insertInto('ledger_entries').values([
      { entry_id: 'e-1', account_id: 'a-1', amount: 5, currency: 'USD', balance_after: 5, created_at: now },
      { entry_id: 'e-2', account_id: 'a-2', amount: 7, currency: 'USD', balance_after: 7, created_at: now },
    ]).execute();
    await db.insertInto('users').values([
      { user_id: 'u-1', tenant_id: 'default', email: 'd@example.com', name: 'D', created_at: now },
      { user_id: 'u-2', tenant_id: 'acme', email: 'a@example.com', name: 'A', created_at: now },
    ]).execute();
    await db.insertInto('orders').values([
      { order_id: 'o-1', tenant_id: 'default', customer_id: 'c', payment_account_id: 'a-1', items: '[]', amount: null, currency: null, status: 'RUNNING', reason: null, created_at: now, updated_at: now },
      { order_id: 'o-2', tenant_id: 'acme', customer_id: 'c', payment_account_id: 'a-2', items: '[]', amount: null, currency: null, status: 'RUNNING', reason: null, created_at: now, updated_at: now },
    ]).execute();
    await db.insertInto('shipments').values([
      { order_id: 'o-1', carrier: 'x', tracking_number: 't1', status: 'booked', created_at: now, updated_at: now },
      { order_id: 'o-2', carrier: 'x', tracking_number: 't2', status: 'booked', created_at: now, updated_at: now },
    ]).execute();

    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    const ids = async (table: 'accounts' | 'users' | 'orders', column: 'account_id' | 'user_id' | 'order_id') =>
      (await db.selectFrom(table).select([column as never]).orderBy(column as never).execute()).map((r) => Object.values(r)[0]);
    expect(await ids('accounts', 'account_id')).toEqual(['a-1', 'acme~a-2']);
    expect(await ids('users', 'user_id')).toEqual(['acme~u-2', 'u-1']);
    expect(await db.selectFrom('orders').select(['order_id', 'payment_account_id']).orderBy('order_id').execute()).toEqual([
      { order_id: 'acme~o-2', payment_account_id: 'acme~a-2' },
      { order_id: 'o-1', payment_account_id: 'a-1' },
    ]);
    expect((await db.selectFrom('ledger_entries').select(['entry_id', 'account_id']).orderBy('entry_id').execute())).toEqual([
      { entry_id: 'e-1', account_id: 'a-1' },
      { entry_id: 'e-2', account_id: 'acme~a-2' },
    ]);
    expect((await db.selectFrom('shipments').select('order_id').orderBy('order_id').execute()).map((r) => r.order_id)).toEqual(['acme~o-2', 'o-1']);
  });
});

/**
 * API keys. A key is `cvk_<keyId>_<secret>`: the key ID finds the row, the SHA-256 of the whole
 * key is all that is stored (the secret has 256 bits, so a fast hash is enough: nothing to
 * brute-force). The key itself is shown once, at creation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from './database';

export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  scopes: string[];
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

const KEY_FORMAT = /^cvk_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** The key ID of a well-formed key, or undefined (anything else is not one of ours). */
export const keyIdOf = (key: string): string | undefined => KEY_FORMAT.exec(key)?.[1];

export async function createApiKey(db: Database, { tenantId, scopes, name }: { tenantId: string; scopes: string[]; name: string }): Promise<{ key: string; record: ApiKeyRecord }> {
  const keyId = randomBytes(8).toString('hex');
  const key = `cvk_${keyId}_${randomBytes(32).toString('base64url')}`;
  const createdAt = new Date().toISOString();
  await db.insertInto('api_keys').values({ key_id: keyId, tenant_id: tenantId, key_hash: hashKey(key), scopes: scopes.join(' '), name, created_at: createdAt, revoked_at: null }).execute();
  return { key, record: { keyId, tenantId, scopes, name, createdAt, revokedAt: null } };
}

const toRecord = (row: { key_id: string; tenant_id: string; scopes: string; name: string; created_at: string; revoked_at: string | null }): ApiKeyRecord => ({
  keyId: row.key_id,
  tenantId: row.tenant_id,
  scopes: row.scopes.split(' ').filter(Boolean),
  name: row.name,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export async function listApiKeys(db: Database, tenantId?: string): Promise<ApiKeyRecord[]> {
  let query = db.selectFrom('api_keys').select(['key_id', 'tenant_id', 'scopes', 'name', 'created_at', 'revoked_at']).orderBy('created_at');
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  return (await query.execute()).map(toRecord);
}

/** True when the key existed and was active; a revoked key stays listed, as a record. */
export async function revokeApiKey(db: Database, keyId: string): Promise<boolean> {
  const result = await db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('key_id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The active key this is, or undefined: unknown ID, wrong secret (compared in constant time) or revoked. */
export async function verifyApiKey(db: Database, key: string): Promise<ApiKeyRecord | undefined> {
  const keyId = keyIdOf(key);
  if (!keyId) return undefined;
  const row = await db.selectFrom('api_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
  if (!row || row.revoked_at) return undefined;
  const given = Buffer.from(hashKey(key), 'hex');
  const stored = Buffer.from(row.key_hash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored) ? toRecord(row) : undefined;
}

/**
 * `npm start`'s development key: created once with every scope for the default tenant, kept in
 * `file` (its whole content is the key, mode 0600). Created again if the file is gone or the key
 * was revoked (or the database was reset); given the scopes added since it was made.
 */
export async function ensureDevApiKey(db: Database, file: string, tenantId: string, scopes: readonly string[]): Promise<string> {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
  const record = existing ? await verifyApiKey(db, existing) : undefined;
  if (existing && record) {
    if (scopes.some((s) => !record.scopes.includes(s))) await db.updateTable('api_keys').set({ scopes: scopes.join(' ') }).where('key_id', '=', record.keyId).execute();
    return existing;
  }
  const { key } = await createApiKey(db, { tenantId, scopes: [...scopes], name: 'development key (npm start)' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/**
 * `npm run keys -- <command>`: API keys of the app database (DATABASE_URL or the data dir's SQLite).
 *   create --tenant <tenant> --scope <scope> [--scope …] [--name <text>]   prints the key, once
 *   list [--tenant <tenant>]                                                 key IDs, tenants, scopes, state
 *   revoke <keyId>                                                           effective within a second, no restart
 */
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from '../db/api-keys';
import { openDatabase } from '../db/database';
import { loadConfigOrExit } from '../platform/config';
import { SCOPES, tenantId } from '../platform/tenancy';

const usage = `usage: npm run keys -- create --tenant <tenant> --scope <scope> [--scope <scope>…] [--name <text>]
       npm run keys -- list [--tenant <tenant>]
       npm run keys -- revoke <keyId>
scopes: ${SCOPES.join(', ')} (or --scope all)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { tenant: { type: 'string' }, scope: { type: 'string', multiple: true }, name: { type: 'string' } },
  });
  const [command, ...rest] = positionals;
  const config = loadConfigOrExit();
  const db = await openDatabase(config.database);
  try {
    if (command === 'create') {
      const tenant = tenantId.safeParse(values.tenant);
      if (!tenant.success) fail(`--tenant ${values.tenant ?? '(missing)'}: ${tenant.error.issues[0]?.message}`);
      const scopes = (values.scope ?? []).flatMap((s) => s.split(/[ ,]+/)).filter(Boolean);
      const expanded = scopes.includes('all') ? [...SCOPES] : scopes;
      const unknown = expanded.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (expanded.length === 0 || unknown.length > 0) fail(unknown.length ? `unknown scope: ${unknown.join(', ')}` : 'give at least one --scope');
      const { key, record } = await createApiKey(db, { tenantId: tenant.data, scopes: [...new Set(expanded)], name: values.name ?? '' });
      process.stdout.write(`${key}\n`);
      process.stderr.write(`key ${record.keyId} for tenant ${record.tenantId}, scopes ${record.scopes.join(' ')}. Shown once: only its hash is stored.\n`);
    } else if (command === 'list') {
      for (const k of await listApiKeys(db, values.tenant)) {
        process.stdout.write(`${k.keyId}  ${k.tenantId}  ${k.scopes.join(',')}  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}  created ${k.createdAt}  ${k.name}\n`);
      }
    } else if (command === 'revoke') {
      if (rest.length !== 1) fail('revoke takes one key ID');
      if (!(await revokeApiKey(db, rest[0]!))) fail(`no active key ${rest[0]}`);
      process.stdout.write(`revoked ${rest[0]}\n`);
    } else {
      fail(command ? `unknown command: ${command}` : 'no command');
    }
  } finally {
    await db.destroy();
  }
}

void main();

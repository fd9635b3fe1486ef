/**
 * Conveyor's own API role (bin/api.ts), plus what the benchmark needs: never outlive the harness;
 * an API key in the data dir (`dev-api-key`, as `npm start` keeps it) for the load generator; rate
 * limits out of the way (the benchmark measures throughput, not the limiter's refusals; the
 * per-key limiter still runs, at its usual cost).
 */
import { ensureDevApiKey } from '../db/api-keys';
import { openDatabase } from '../db/database';
import { loadConfig } from '../platform/config';
import { DEFAULT_TENANT, SCOPES } from '../platform/tenancy';

process.on('disconnect', () => process.exit(1));
process.env.RATE_LIMIT_RPS ??= '10000000';
process.env.RATE_LIMIT_SUBMIT_RPS ??= '10000000';
// The HTTP-hop baseline sends GET /healthz at the job rate, from one address: measure the API, not its limit.
process.env.RATE_LIMIT_PUBLIC_RPS ??= '10000000';

async function main() {
  const config = loadConfig();
  const db = await openDatabase(config.database);
  await ensureDevApiKey(db, config.auth.devKeyFile, DEFAULT_TENANT, SCOPES);
  await db.destroy();
  require('../bin/api');
}

void main();

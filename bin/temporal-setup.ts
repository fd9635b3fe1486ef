/**
 * `npm run temporal:setup [-- --retention 30d]`: prepare the Temporal that TEMPORAL_ADDRESS names
 * (namespace TEMPORAL_NAMESPACE, Conveyor's search attributes) and wait until it is usable.
 * Idempotent: run it on every deploy, before the roles. The embedded dev server needs none of it.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import ms from 'ms';
import { loadConfigOrExit } from '../platform/config';
import { exitOnStartupError } from '../platform/lifecycle';
import { connectionOptions } from '../platform/temporal';
import { DEFAULT_RETENTION_MS, setUpTemporal } from '../platform/temporal-setup';

async function main() {
  const config = loadConfigOrExit();
  const { values } = parseArgs({ options: { retention: { type: 'string' } } });
  const retentionMs = values.retention === undefined ? DEFAULT_RETENTION_MS : (ms(values.retention as ms.StringValue) as number | undefined);
  if (typeof retentionMs !== 'number' || !(retentionMs >= 24 * 3600_000)) {
    throw new Error(`--retention "${values.retention}": expected a duration of at least 1 day, e.g. 30d`);
  }
  const connection = await Connection.connect({ ...connectionOptions(config.temporal), connectTimeout: 10_000 });
  try {
    const log = (line: string) => console.log(`temporal:setup ${config.temporal.address}: ${line}`);
    const { created } = await setUpTemporal(connection, { namespace: config.temporal.namespace, retentionMs, log });
    if (created.length === 0) log('nothing to create');
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  // The SDK's "Failed to start Workflow" says nothing by itself: name the server's reason.
  const causes: string[] = [];
  for (let e = (err as Error).cause as Error | undefined; e; e = e.cause as Error | undefined) causes.push(e.message);
  exitOnStartupError(new Error([(err as Error).message, ...causes].join(': ')));
});

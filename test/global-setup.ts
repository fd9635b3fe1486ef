/**
 * Once per `npm test`: install the pinned Temporal binaries if missing, bundle the workflow code
 * (seconds of webpack, so never per test file), and start one in-memory Temporal dev server that
 * the integration tests share (each test file uses its own task queue and IDs).
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startDevServer } from '../platform/dev-server';
import {
  ensureTemporalBinaries,
  requireBinary,
  TEMPORAL_CLI,
  TEMPORAL_TEST_SERVER,
} from '../platform/temporal-binaries';
import { freePort } from '../platform/ports';
import { workflowBundleOptions } from '../worker/worker';
import { ISOLATED_NAMESPACES } from './support/namespaces';

export default async function globalSetup(): Promise<void> {
  ensureTemporalBinaries([TEMPORAL_CLI, TEMPORAL_TEST_SERVER]);

  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: new DefaultLogger('WARN'),
  });
  const bundleFile = path.resolve(__dirname, '..', '.cache', 'test', 'workflow-bundle.js');
  fs.mkdirSync(path.dirname(bundleFile), { recursive: true });
  fs.writeFileSync(bundleFile, code);

  if (!process.env.TEST_DATABASE_URL) {
    console.warn('\nTEST_DATABASE_URL is unset: the PostgreSQL variants of the database tests are skipped (.ci/run sets it).');
  }

  process.env.CONVEYOR_TEST_WORKFLOW_BUNDLE = bundleFile;
  if (process.env.CONVEYOR_TEST_TEMPORAL_ADDRESS) {
    // Pointed at an existing cluster (.ci/cluster.sh): start no dev server. The cluster must have
    // been through `npm run temporal:setup` for 'default' and each of ISOLATED_NAMESPACES.
    console.warn(`\nCONVEYOR_TEST_TEMPORAL_ADDRESS=${process.env.CONVEYOR_TEST_TEMPORAL_ADDRESS}: the integration tests use that Temporal, not a dev server.`);
    return;
  }
  const devServer = await startDevServer({
    executable: requireBinary(TEMPORAL_CLI),
    ip: '127.0.0.1',
    port: await freePort(),
    namespaces: Object.values(ISOLATED_NAMESPACES),
  });
  // Jest starts its test workers after global setup, so they inherit these.
  process.env.CONVEYOR_TEST_TEMPORAL_ADDRESS = devServer.address;
  (globalThis as Record<string, unknown>).__conveyorDevServer = devServer;
}

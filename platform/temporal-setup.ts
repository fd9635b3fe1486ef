/**
 * What a Temporal cluster needs before Conveyor can use it, which the embedded dev server does by
 * itself: the namespace, and Conveyor's search attributes in it. `npm run temporal:setup` creates
 * whatever is missing (idempotent: run it on every deploy); `temporalReadiness` is what /readyz
 * asks, so a half-prepared cluster is "not ready" instead of answering every POST with 500.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, isGrpcServiceError, type Connection } from '@temporalio/client';
import { SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { searchAttributeKeys } from './temporal-keys';

/**
 * How long a closed workflow stays in the cluster. Long enough to debug a job weeks later and to
 * keep refusing a second run of a finished business key (REJECT_DUPLICATE only sees runs still
 * retained; past that the app database's operation keys are what stop a repeat). Temporal Cloud
 * accepts 1-90 days.
 */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;

// gRPC status codes (fixed by the gRPC spec).
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;

// temporal.api.enums.v1.IndexedValueType: numbers fixed by Temporal's API (the SDK does not export its mapping).
const indexedValueTypes: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: 1,
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.INT]: 3,
  [SearchAttributeType.DOUBLE]: 4,
  [SearchAttributeType.BOOL]: 5,
  [SearchAttributeType.DATETIME]: 6,
  [SearchAttributeType.KEYWORD_LIST]: 7,
};

const grpcCode = (err: unknown): number | undefined => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
};

async function namespaceExists(client: Client, namespace: string): Promise<boolean> {
  try {
    await client.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if (grpcCode(err) === NOT_FOUND) return false;
    throw err;
  }
}

/**
 * What is missing for Conveyor on this namespace: [] when ready, else one line per gap
 * ("namespace 'default'", "search attribute CorrelationId (Keyword)"). An attribute registered
 * with another type counts as missing: starts that use it would fail. Throws when Temporal cannot
 * be asked (the caller reports that as unreachable).
 */
export async function temporalReadiness(client: Client, namespace: string): Promise<string[]> {
  if (!(await namespaceExists(client, namespace))) return [`namespace '${namespace}'`];
  const describe = (key: (typeof searchAttributeKeys)[number]) => `search attribute ${key.name} (${key.type})`;
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
    return searchAttributeKeys.filter((key) => customAttributes?.[key.name] !== indexedValueTypes[key.type]).map(describe);
  } catch (err) {
    // A key that may run workflows but not use the operator API (Temporal Cloud's roles): ask the
    // way a worker may, a count query per attribute, which the server refuses for an unknown one.
    if (![PERMISSION_DENIED, UNIMPLEMENTED].includes(grpcCode(err) ?? -1)) throw err;
    const usable = await Promise.all(
      searchAttributeKeys.map((key) =>
        client.workflowService.countWorkflowExecutions({ namespace, query: `${key.name} = 'conveyor-readiness'` }).then(
          () => true,
          (e: unknown) => (grpcCode(e) === INVALID_ARGUMENT ? false : Promise.reject(e)),
        ),
      ),
    );
    return searchAttributeKeys.filter((_, i) => !usable[i]).map(describe);
  }
}

/** A value of each type, for the probe start that proves the attributes usable. */
const sampleValues: Record<string, unknown> = {
  [SearchAttributeType.INT]: 0,
  [SearchAttributeType.DOUBLE]: 0,
  [SearchAttributeType.BOOL]: false,
  [SearchAttributeType.DATETIME]: new Date(0),
  [SearchAttributeType.KEYWORD_LIST]: ['setup'],
};
const sampleValue = (type: SearchAttributeType): unknown => sampleValues[type] ?? 'setup';

export interface SetupOptions {
  namespace: string;
  retentionMs?: number;
  /** How long to wait for the cluster to accept a start that uses every attribute. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Create the namespace and register the search attributes, each only if missing, then wait until
 * a workflow start that sets every attribute succeeds. Registering returns before every frontend
 * knows the namespace (its cache refreshes every few seconds) or accepts a new attribute (about
 * half a second), so "registered" is not "usable"; the probe start is the proof.
 */
export async function setUpTemporal(connection: Connection, options: SetupOptions): Promise<{ created: string[] }> {
  const { namespace, log = () => undefined } = options;
  const client = new Client({ connection, namespace });
  const created: string[] = [];

  if (!(await namespaceExists(client, namespace))) {
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(retentionMs),
        description: 'Conveyor',
      });
      created.push(`namespace '${namespace}' (retention ${Math.round(retentionMs / 3600_000)} h)`);
    } catch (err) {
      if (grpcCode(err) !== ALREADY_EXISTS) throw err; // another setup won the race
    }
  }

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // The new namespace may not be visible yet: retry the attribute registration until it is.
  for (;;) {
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributeKeys.filter((key) => customAttributes?.[key.name] === undefined);
      const wrong = searchAttributeKeys.filter((key) => customAttributes?.[key.name] !== undefined && customAttributes[key.name] !== indexedValueTypes[key.type]);
      if (wrong.length) {
        // Changing a type would break every workflow already indexed with it: an operator decides.
        throw new Error(`search attributes registered with another type: ${wrong.map((k) => `${k.name} (Conveyor needs ${k.type})`).join(', ')}`);
      }
      if (missing.length) {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueTypes[key.type]!])),
        });
        created.push(...missing.map((key) => `search attribute ${key.name} (${key.type})`));
      }
      break;
    } catch (err) {
      if (grpcCode(err) !== NOT_FOUND || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
  for (const line of created) log(`created ${line}`);

  // The probe: a start with every attribute, on a task queue no worker polls, terminated at once.
  const typedSearchAttributes = searchAttributeKeys.map((key) => ({ key, value: sampleValue(key.type) }) as SearchAttributePair);
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await client.workflow.start('conveyorSetupProbe', {
        taskQueue: 'conveyor-setup-probe',
        workflowId: `conveyor-setup-probe:${randomUUID()}`,
        typedSearchAttributes,
        workflowExecutionTimeout: '1 minute',
      });
      await handle.terminate('temporal:setup probe: the search attributes are usable');
      log(`namespace '${namespace}' is ready: a start using ${searchAttributeKeys.map((k) => k.name).join(', ')} succeeded${attempt > 1 ? ` after ${attempt} attempts` : ''}`);
      return { created };
    } catch (err) {
      // INVALID_ARGUMENT: "no mapping defined for search attribute X" (not propagated yet);
      // NOT_FOUND: the namespace is not in this frontend's cache yet; UNAVAILABLE: a cluster that
      // has just started has not placed its history shards yet.
      const retriable = [INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE].includes(grpcCode(err) ?? -1) || (err as Error).name === 'NamespaceNotFoundError';
      if (!retriable || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

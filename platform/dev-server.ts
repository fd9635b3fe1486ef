import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { searchAttributeKeys } from './temporal-keys';
import { assertPortFree, clearStaleServer } from './dev-server-guard';

const WATCHDOG = require.resolve('./dev-server-watchdog');

/**
 * The Temporal CLI dev server as a child process. We spawn it ourselves (rather than through the
 * SDK's ephemeral-server API) so that stopping it is a plain SIGTERM we can wait on, and its
 * output goes to a log file an operator can read.
 */
export interface DevServerOptions {
  executable: string;
  ip: string;
  port: number;
  /** Web UI port; omit for a headless server (tests). */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server. */
  dbFile?: string;
  /** The Web UI decodes payloads through this codec server (api/codec-server.ts), e.g. http://127.0.0.1:3000/codecs. */
  codecEndpoint?: string;
  /** Namespaces to create besides 'default' (each gets the search attributes too). */
  namespaces?: string[];
  /** false: register no search attributes, like a fresh cluster (tests of `temporal:setup`). */
  searchAttributes?: boolean;
  /**
   * Names the running server; a start first stops a live server this file still names (an earlier
   * run killed so hard its watchdog died too). Use one per data dir.
   */
  pidFile?: string;
  /** Where the server's stdout/stderr go; omit to discard (the last lines are kept for errors). */
  logFile?: string;
  startTimeoutMs?: number;
  /** DEV_SERVER_SETTINGS unless given (benchmarks compare them with the CLI's own, `{}`). */
  settings?: DevServerSettings;
}

export interface DevServerSettings {
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Applied only with a database file. */
  sqlitePragmas?: Record<string, string>;
}

/**
 * What Conveyor changes in the dev server, each measured against the CLI's default by
 * `npm run bench:engine` (docs/benchmarks.md, section 9).
 * - The history service hands new workflow tasks to matching through its transfer queue and
 *   updates list queries through its visibility queue, and reads each at most 20 times a second
 *   by default: a new job could wait up to 50 ms before any worker saw it. At up to 1000 reads a
 *   second the welcome email's end-to-end p50 drops by about a third, with no change in burst
 *   throughput beyond run-to-run noise. Nothing becomes less durable: the queues are persisted
 *   either way; the server only reads them in smaller batches.
 * - With a database file: SQLite's write-ahead log with synchronous=NORMAL instead of a rollback
 *   journal with an fsync per commit (over twice the throughput). A crash of the server process
 *   loses nothing; a power cut or kernel crash can lose the last commits, never the file. Fine for
 *   a dev server; production Temporal runs on its own cluster with its own settings.
 */
export const DEV_SERVER_SETTINGS: DevServerSettings = {
  dynamicConfig: { 'history.transferProcessorMaxPollRPS': 1000, 'history.visibilityProcessorMaxPollRPS': 1000 },
  sqlitePragmas: { journal_mode: 'wal', synchronous: 'NORMAL' },
};

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  /** The watchdog that runs the server (dev-server-watchdog.ts); it exits the way the server did. */
  process: ChildProcess;
  /** A server left over from an earlier run that this start stopped first. */
  clearedStalePid?: number;
  stop(): Promise<void>;
}

const cliTypeNames: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

export function searchAttributeFlags(keys: typeof searchAttributeKeys): string[] {
  return keys.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeNames[key.type]}`]);
}

function settingsFlags({ dynamicConfig = {}, sqlitePragmas = {} }: DevServerSettings, withFile: boolean): string[] {
  return [
    ...Object.entries(dynamicConfig).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    ...(withFile ? Object.entries(sqlitePragmas).flatMap(([name, value]) => ['--sqlite-pragma', `${name}=${value}`]) : []),
  ];
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = `${options.ip}:${options.port}`;
  const args = [
    'server', 'start-dev',
    '--ip', options.ip,
    '--port', String(options.port),
    '--log-level', 'warn',
    ...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort), '--ui-disable-news-fetch']),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
    ...settingsFlags(options.settings ?? DEV_SERVER_SETTINGS, Boolean(options.dbFile)),
    ...(options.searchAttributes === false ? [] : searchAttributeFlags(searchAttributeKeys)),
    ...(options.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
  ];
  const clearedStalePid = options.pidFile ? await clearStaleServer(options.pidFile, options.dbFile ?? options.pidFile) : undefined;
  await assertPortFree(options.ip, options.port, 'Temporal');
  if (options.uiPort !== undefined) await assertPortFree(options.ip, options.uiPort, 'Temporal Web UI');
  const log = options.logFile ? fs.openSync(options.logFile, 'a') : undefined;
  // Through the watchdog, which stops the server when we die, however we die. Its stdin is a pipe
  // we hold open for our whole life and never write to.
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, WATCHDOG, options.pidFile ?? '-', options.executable, ...args], {
    stdio: ['pipe', log ?? 'ignore', log ?? 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server last,
    // after the worker has drained against it.
    detached: true,
  });
  if (log !== undefined) fs.closeSync(log); // the child holds its own descriptor
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const stop = async () => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(20_000, false, { ref: false })]);
    if (!stopped) {
      process.kill(-child.pid!, 'SIGKILL'); // the whole group: watchdog and server
      await exited;
    }
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (hasExited) {
      const where = options.logFile ? ` (see ${options.logFile})` : `: ${stderrTail.trim()}`;
      throw new Error(`Temporal dev server exited during start-up with code ${child.exitCode}${where}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Temporal dev server did not answer on ${address} within ${options.startTimeoutMs ?? 60_000} ms: ${(err as Error).message}`, { cause: err });
      }
      await sleep(200);
    }
  }
  const uiUrl = options.uiPort === undefined ? undefined : `http://${options.ip}:${options.uiPort}`;
  return { address, uiUrl, process: child, clearedStalePid, stop };
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { searchAttributeKeys } from '../workflows/definitions';

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
  /** Namespaces to create besides 'default' (each gets the search attributes too). */
  namespaces?: string[];
  /** Where the server's stdout/stderr go; omit to discard (the last lines are kept for errors). */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
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

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = `${options.ip}:${options.port}`;
  const args = [
    'server', 'start-dev',
    '--ip', options.ip,
    '--port', String(options.port),
    '--log-level', 'warn',
    ...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort), '--ui-disable-news-fetch']),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...searchAttributeFlags(searchAttributeKeys),
    ...(options.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
  ];
  const log = options.logFile ? fs.openSync(options.logFile, 'a') : undefined;
  const child = spawn(options.executable, args, {
    stdio: ['ignore', log ?? 'ignore', log ?? 'pipe'],
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
    const stopped = await Promise.race([exited.then(() => true), sleep(15_000, false, { ref: false })]);
    if (!stopped) {
      child.kill('SIGKILL');
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
        throw new Error(`Temporal dev server did not answer on ${address} within ${options.startTimeoutMs ?? 60_000} ms: ${(err as Error).message}`);
      }
      await sleep(200);
    }
  }
  const uiUrl = options.uiPort === undefined ? undefined : `http://${options.ip}:${options.uiPort}`;
  return { address, uiUrl, process: child, stop };
}

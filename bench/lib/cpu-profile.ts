/**
 * Where a process's CPU went, from a V8 `.cpuprofile` (what `node --cpu-prof` writes at exit): self
 * time grouped by the package or part of Conveyor each function comes from, over a time window
 * (the load phase, not start-up or shutdown).
 *
 * Two views. "self": each sample charged to the function on top of the stack, grouped by that
 * function's file (Node's own modules and V8 builtins such as JSON.parse are groups of their own).
 * "attributed": the time of Node's own modules and of V8 builtins charged instead to the nearest
 * caller that belongs to a package or to Conveyor, so JSON.stringify called by pino counts as pino
 * and socket writes made for Express count as Express.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Packages by what they are for on the request path; any other package is 'other packages'. */
const PACKAGE_GROUPS: Array<[group: string, test: (pkg: string) => boolean]> = [
  ['Temporal client + gRPC', (p) => p.startsWith('@temporalio/') || p.startsWith('@grpc/') || p === 'protobufjs' || p.startsWith('@protobufjs/') || p === 'long'],
  ['express (+ body-parser, router, ...)', (p) => ['express', 'router', 'body-parser', 'raw-body', 'finalhandler', 'send', 'on-finished', 'path-to-regexp', 'type-is', 'content-type', 'mime-types', 'mime-db', 'qs', 'iconv-lite', 'accepts', 'negotiator', 'statuses', 'http-errors', 'parseurl', 'encodeurl', 'proxy-addr', 'fresh', 'etag', 'vary', 'media-typer', 'depd', 'debug', 'bytes', 'content-disposition', 'cookie', 'unpipe', 'ee-first'].includes(p)],
  ['zod', (p) => p === 'zod'],
  ['auth (jose, rate-limiter-flexible)', (p) => p === 'jose' || p === 'rate-limiter-flexible'],
  ['prom-client', (p) => p === 'prom-client' || p === 'tdigest' || p === 'bintrees'],
  ['pino', (p) => p.startsWith('pino') || ['sonic-boom', 'thread-stream', 'fast-redact', '@pinojs/redact', 'quick-format-unescaped', 'atomic-sleep', 'on-exit-leak-free', 'safe-stable-stringify', 'real-require'].includes(p)],
  ['OpenTelemetry', (p) => p.startsWith('@opentelemetry/')],
  ['database (kysely, better-sqlite3, pg)', (p) => ['kysely', 'better-sqlite3', 'pg', 'pg-pool', 'pg-protocol', 'pg-types'].includes(p)],
  ['tsx (TypeScript loader)', (p) => p === 'tsx' || p === 'esbuild' || p === 'get-tsconfig'],
];
/** Conveyor's own files that are the key check and the per-key rate limit. */
const AUTH_FILES = ['api/auth.ts', 'api/rate-limits.ts', 'db/api-keys.ts'];

export const NODE_CORE = 'Node core (http, net, streams, timers)';
export const V8_BUILTINS = 'V8 builtins (JSON, RegExp, ...)';
export const GC = 'garbage collection';
const PROGRAM = 'V8 / native (program)';
const IDLE = '(idle)';

/** The package a node_modules path belongs to ('@scope/name' or 'name'). */
function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = url.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

function groupOf(frame: ProfileNode['callFrame'], root: string): { group: string; pkg?: string } {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return { group: GC };
    if (functionName === '(idle)') return { group: IDLE };
    if (functionName === '(program)' || functionName === '(root)') return { group: PROGRAM };
    return { group: V8_BUILTINS };
  }
  if (url.startsWith('node:')) return { group: NODE_CORE };
  const pkg = packageOf(url);
  if (pkg) return { group: PACKAGE_GROUPS.find(([, test]) => test(pkg))?.[0] ?? 'other packages', pkg };
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const relative = path.relative(root, file);
  if (AUTH_FILES.includes(relative)) return { group: 'auth (Conveyor: api/auth.ts, rate limits)' };
  if (!relative.startsWith('..')) return { group: 'Conveyor code' };
  return { group: 'other' };
}

export interface CpuBreakdown {
  /** Non-idle CPU in the window, in ms. */
  busyMs: number;
  windowMs: number;
  /** [group, ms, share of busy] by self time, largest first. */
  self: Array<{ group: string; ms: number; share: number }>;
  /** The same with Node core and V8 builtin time charged to their nearest package/Conveyor caller. */
  attributed: Array<{ group: string; ms: number; share: number }>;
  /** The ten packages with the most self time (who is inside 'other packages'). */
  topPackages: Array<{ pkg: string; ms: number }>;
}

/**
 * Breakdown of the samples between `fromEndUs` and `toEndUs` microseconds before the profile's
 * end (the harness knows how long before the process exited its load phase began and ended).
 */
export function analyseCpuProfile(file: string, window: { fromEndUs: number; toEndUs: number }, root: string): CpuBreakdown {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const groups = new Map(profile.nodes.map((n) => [n.id, groupOf(n.callFrame, root)]));
  const internal = (g: string) => g === NODE_CORE || g === V8_BUILTINS;
  /** The group that pays for node `id` in the attributed view. */
  const attributedCache = new Map<number, string>();
  const attributedGroup = (id: number): string => {
    const cached = attributedCache.get(id);
    if (cached) return cached;
    let g = groups.get(id)!.group;
    if (internal(g)) {
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const pg = groups.get(p)!.group;
        if (!internal(pg) && pg !== PROGRAM) {
          g = pg;
          break;
        }
      }
    }
    attributedCache.set(id, g);
    return g;
  };

  const from = profile.endTime - window.fromEndUs;
  const to = profile.endTime - window.toEndUs;
  const self = new Map<string, number>();
  const attributed = new Map<string, number>();
  const packages = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    const { group, pkg } = groups.get(id)!;
    if (group === IDLE) continue;
    self.set(group, (self.get(group) ?? 0) + us);
    const ag = attributedGroup(id);
    attributed.set(ag, (attributed.get(ag) ?? 0) + us);
    if (pkg) packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = [...self.values()].reduce((a, b) => a + b, 0);
  const table = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => ({ group, ms: Math.round(us / 100) / 10, share: busyUs ? Math.round((us / busyUs) * 1000) / 1000 : 0 }));
  return {
    busyMs: Math.round(busyUs / 1000),
    windowMs: Math.round((to - from) / 1000),
    self: table(self),
    attributed: table(attributed),
    topPackages: [...packages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([pkg, us]) => ({ pkg, ms: Math.round(us / 100) / 10 })),
  };
}

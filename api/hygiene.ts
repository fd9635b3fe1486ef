/**
 * What the API refuses before any route runs, each as problem+json: bodies nested too deeply to
 * walk safely, bodies that are not JSON, and methods a known path does not take.
 */
import type { Server } from 'node:http';
import type express from 'express';
import type { RequestHandler } from 'express';
import { HttpProblem } from './problem';

/** Deeper than any request Conveyor takes (an order's items are at depth 3). */
export const MAX_BODY_DEPTH = 16;

/** Depth of a parsed JSON value, measured without recursion (a hostile body may nest thousands deep). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_BODY_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Refuse a body nested deeper than MAX_BODY_DEPTH before anything walks it (the Idempotency-Key fingerprint does). */
export const limitBodyDepth: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined && depthOf(req.body) > MAX_BODY_DEPTH) {
    return next(new HttpProblem(400, 'body-too-deep', 'The body is nested too deeply', `JSON bodies may nest at most ${MAX_BODY_DEPTH} levels of objects and arrays.`));
  }
  next();
};

const notJson = (req: express.Request) =>
  new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', `Send the body as application/json (got ${req.get('Content-Type') ?? 'no Content-Type'}).`);

/** For routes that read a body: it must be JSON. */
export const requireJson: RequestHandler = (req, _res, next) => next(req.is('application/json') ? undefined : notJson(req));

/** For routes whose body is optional (all its fields have defaults): none at all (or empty), or JSON. */
export const jsonIfAny: RequestHandler = (req, _res, next) => {
  const empty = !req.headers['transfer-encoding'] && Number(req.headers['content-length'] ?? 0) === 0;
  next(empty || req.is('application/json') ? undefined : notJson(req));
};

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
  match(path: string): boolean;
}

const stackOf = (app: express.Express) => (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;

/** Every route the app serves, as (method, path template): for tests and docs that must not miss one. */
export function routeTable(app: express.Express): Array<{ method: string; path: string }> {
  const walk = (stack: RouterLayer[]): Array<{ method: string; path: string }> =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map((m) => ({ method: m.toUpperCase(), path: layer.route!.path }))
        : layer.handle.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk(stackOf(app));
}

/** The methods the app's routes take on `path` (Express's own router, walked through mounted routers). */
function allowedMethods(stack: RouterLayer[], path: string, found = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (!layer.match(path)) continue;
    if (layer.route) Object.keys(layer.route.methods).forEach((m) => found.add(m.toUpperCase()));
    else if (layer.handle.stack) allowedMethods(layer.handle.stack, path, found);
  }
  return found;
}

/** Mount after every route: a known path with an unknown method is 405 with Allow, anything else 404. */
export function notFoundOrNotAllowed(app: express.Express): RequestHandler {
  return (req, res, next) => {
    const allowed = allowedMethods(stackOf(app), req.path);
    if (allowed.size > 0) {
      if (allowed.has('GET')) allowed.add('HEAD');
      res.set('Allow', [...allowed].sort().join(', '));
      return next(new HttpProblem(405, 'method-not-allowed', 'Method Not Allowed', `${req.path} takes ${[...allowed].sort().join(', ')}, not ${req.method}.`));
    }
    next(new HttpProblem(404, 'not-found', 'Not Found', `No route for ${req.method} ${req.path}.`));
  };
}

/**
 * Requests Node's HTTP parser rejects (malformed headers, a bad request line) never reach Express;
 * answer them as problem+json too, where the socket still takes an answer.
 */
export function answerClientErrorsAsProblems(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ type: 'urn:conveyor:problem:malformed-request', title: 'Malformed request', status, detail: `The HTTP request could not be parsed (${err.code ?? 'parse error'}).` });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

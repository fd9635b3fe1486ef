import type { Response } from 'express';
import type { z } from 'zod';

/**
 * RFC 9457 problem details. Routes throw HttpProblem; the error handler in app.ts writes it as
 * application/problem+json.
 */
export interface InvalidParam {
  /** JSON Pointer into the request body, or the name of a header, path or query parameter. */
  pointer: string;
  detail: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    /** Short slug for the problem type, e.g. 'validation-error'. */
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

export function sendProblem(res: Response, problem: HttpProblem, instance: string): void {
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: `urn:conveyor:problem:${problem.slug}`,
      title: problem.title,
      status: problem.status,
      ...(problem.detail ? { detail: problem.detail } : {}),
      instance,
      ...problem.extra,
    });
}

/** Parse with zod or throw a 422 naming every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'path' | 'query', status = where === 'body' ? 422 : 400): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: InvalidParam[] = parsed.error.issues.flatMap((issue) => {
    // An unknown key is reported once per key, at the key itself.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return keys.map((p) => ({
      pointer: where === 'body' ? `/${p.map(String).join('/')}` : p.map(String).join('.'),
      detail: issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message,
    }));
  });
  const detail = errors.map((e) => `${e.pointer === '/' ? 'body' : e.pointer}: ${e.detail}`).join('; ');
  throw new HttpProblem(status, 'validation-error', 'The request is not valid', detail, { errors });
}

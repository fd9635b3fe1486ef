/**
 * When and in which order a submitted job starts, from the submit route's query string:
 * `?delay=10m` or `?runAt=2030-01-01T09:00:00Z` (Temporal's startDelay: the server holds the job
 * and starts it then; no worker, timer or table of ours is involved), and `?priority=1..5`
 * (Temporal's priority key, 1 first) with an optional `?fairnessKey=` (e.g. a tenant).
 */
import ms from 'ms';
import { z } from 'zod';
import { businessId } from '../platform/schemas';
import type { StartOptions } from '../platform/temporal';
import { parseOrThrow } from './problem';

/** The longest delay or run-at distance taken: a job held for more than a year is a schedule. */
export const MAX_START_DELAY_MS = 366 * 24 * 3600 * 1000;

/** A human duration ('10m', '2h') in ms, or undefined when it is not one (ms() throws on some inputs, e.g. ''). */
export function millisOf(text: string): number | undefined {
  try {
    const millis = ms(text as ms.StringValue) as number | undefined;
    return typeof millis === 'number' && Number.isFinite(millis) ? millis : undefined;
  } catch {
    return undefined;
  }
}

const delay = z
  .string()
  .max(32)
  .transform((text, ctx) => {
    const millis = millisOf(text);
    if (millis === undefined || millis < 1000 || millis > MAX_START_DELAY_MS) {
      ctx.addIssue({ code: 'custom', message: "must be a duration from 1s to 366d, such as '90s', '10m' or '2h'" });
      return z.NEVER;
    }
    return millis;
  });

export const startOptionsQuery = z
  .object({
    delay: delay.optional().meta({ description: "Start the job this much later: a duration from 1s to 366d, such as '10m'." }),
    runAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'Start the job at this time (RFC 3339, in the future, at most 366 days ahead).' }),
    priority: z.coerce.number().int().min(1).max(5).optional().meta({ description: "Temporal's priority key: 1 starts first, 5 last; unset is 3." }),
    fairnessKey: businessId.optional().meta({ description: "Temporal's fairness key: jobs of one key share the queue fairly with other keys' (where the server supports fairness)." }),
  })
  .superRefine((q, ctx) => {
    if (q.delay !== undefined && q.runAt !== undefined) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'give either delay or runAt, not both' });
    if (q.runAt !== undefined) {
      const inMs = Date.parse(q.runAt) - Date.now();
      if (inMs <= 0) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'must be in the future' });
      else if (inMs > MAX_START_DELAY_MS) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'must be at most 366 days ahead' });
    }
  });

/** The start options of a submit request; 422 naming the query parameter when one is wrong. */
export function startOptionsFrom(query: unknown): StartOptions {
  const q = parseOrThrow(startOptionsQuery, query, 'query', 422);
  const startDelayMs = q.delay ?? (q.runAt ? Date.parse(q.runAt) - Date.now() : undefined);
  const priority = q.priority !== undefined || q.fairnessKey !== undefined ? { priorityKey: q.priority, fairnessKey: q.fairnessKey } : undefined;
  return { ...(startDelayMs ? { startDelayMs } : {}), ...(priority ? { priority } : {}) };
}

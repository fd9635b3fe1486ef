import { isGrpcServiceError } from '@temporalio/client';
import { HttpProblem } from './problem';

// gRPC status codes (numbers fixed by the gRPC spec).
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/** True when Temporal could not be reached in time (down, unreachable, or too slow). */
function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && [UNAVAILABLE, DEADLINE_EXCEEDED].includes(e.code)) return true;
  }
  return false;
}

/** Turn an outage into 503 problem+json; anything else stays an (unexpected) error. */
export function asUnavailableProblem(err: unknown): unknown {
  if (!isTemporalUnavailable(err)) return err;
  return new HttpProblem(503, 'temporal-unavailable', 'The workflow service is unavailable', 'Temporal did not answer in time; nothing was enqueued. Retry later.', {
    retryAfterSeconds: 5,
  });
}

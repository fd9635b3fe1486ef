import { isTemporalUnavailable } from '../platform/temporal';
import { HttpProblem } from './problem';

/** Turn an outage into 503 problem+json; anything else stays an (unexpected) error. */
export function asUnavailableProblem(err: unknown): unknown {
  if (!isTemporalUnavailable(err)) return err;
  return new HttpProblem(503, 'temporal-unavailable', 'The workflow service is unavailable', 'Temporal did not answer in time. A start may still have been accepted: retrying the same request (same Idempotency-Key or business ID) is safe.', {
    retryAfterSeconds: 5,
  });
}

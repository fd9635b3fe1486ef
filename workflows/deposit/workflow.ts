import { log, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { trackSteps } from '../steps';
import type { DepositRequest, DepositResult } from './definition';

// Exactly-once effect: at-least-once delivery (retried until it succeeds) of an activity that
// records its operation key in the same transaction as the balance change.
const applyDepositOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
} as const;

// At-most-once: a single attempt, never retried. Losing an analytics event is acceptable.
const recordTelemetryOptions = {
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
} as const;

// Both steps are short database writes, so they run as local activities: in the worker that runs
// the workflow, inside its workflow task, instead of as two activity tasks dispatched by the
// server. A deposit is one workflow task instead of three (docs/benchmarks.md measures it).
// Deposits started before this change keep their activity tasks when replayed (patched).
const local = {
  applyDeposit: proxyLocalActivities<Activities>(applyDepositOptions).applyDeposit,
  recordTelemetry: proxyLocalActivities<Activities>(recordTelemetryOptions).recordTelemetry,
};
const dispatched = {
  applyDeposit: proxyActivities<Activities>(applyDepositOptions).applyDeposit,
  recordTelemetry: proxyActivities<Activities>(recordTelemetryOptions).recordTelemetry,
};

/** Credit an account once, however often the request, the task or the activity is repeated. */
export async function deposit(request: DepositRequest): Promise<DepositResult> {
  const { workflowId } = workflowInfo();
  const enterStep = trackSteps('applying deposit', { details: `**Step:** applying ${request.amount} ${request.currency} to ${request.accountId}` });
  const { applyDeposit, recordTelemetry } = patched('deposit-local-activities') ? local : dispatched;

  const applied = await applyDeposit.executeWithOptions({ summary: `Apply deposit to ${request.accountId}` }, [
    { operationKey: `${workflowId}/apply`, ...request },
  ]);

  enterStep('recording telemetry');
  const telemetry = await recordTelemetry
    .executeWithOptions({ summary: 'Record deposit telemetry (at most once)' }, [
      { name: 'deposit.applied', payload: { accountId: request.accountId, amount: request.amount, currency: request.currency } },
    ])
    .then(
      () => 'recorded' as const,
      () => {
        log.warn('telemetry event lost (at-most-once: not retried)', { accountId: request.accountId });
        return 'lost' as const;
      },
    );

  enterStep('done', `**Done:** balance ${applied.balance} ${request.currency}`);
  return { entryId: applied.entryId, balance: applied.balance, appliedNow: applied.appliedNow, attempts: applied.attempt, telemetry };
}

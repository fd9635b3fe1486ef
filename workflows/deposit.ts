import { log, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { progressQuery, type DepositRequest, type DepositResult } from './definitions';

// Exactly-once effect: at-least-once delivery (retried until it succeeds) of an activity that
// records its operation key in the same transaction as the balance change.
const { applyDeposit } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

// At-most-once: a single attempt, never retried. Losing an analytics event is acceptable.
const { recordTelemetry } = proxyActivities<Activities>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

/** Credit an account once, however often the request, the task or the activity is repeated. */
export async function deposit(request: DepositRequest): Promise<DepositResult> {
  const { workflowId } = workflowInfo();
  let step = 'applying deposit';
  setHandler(progressQuery, () => ({ step }));
  setCurrentDetails(`**Step:** applying ${request.amount} ${request.currency} to ${request.accountId}`);

  const applied = await applyDeposit.executeWithOptions({ summary: `Apply deposit to ${request.accountId}` }, [
    { operationKey: `${workflowId}/apply`, ...request },
  ]);

  step = 'recording telemetry';
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

  step = 'done';
  setCurrentDetails(`**Done:** balance ${applied.balance} ${request.currency}`);
  return { entryId: applied.entryId, balance: applied.balance, appliedNow: applied.appliedNow, attempts: applied.attempt, telemetry };
}

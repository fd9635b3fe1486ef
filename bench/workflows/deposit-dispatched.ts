/**
 * The deposit as it ran before its two steps became local activities: the same activities with
 * the same options, each dispatched by the server as its own activity task (three workflow tasks
 * per deposit). Bench-only, so `npm run bench:deposits` can measure both in one run.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { DepositRequest, DepositResult } from '../../workflows/deposit/definition';

const { applyDeposit } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});
const { recordTelemetry } = proxyActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 1 } });

export async function deposit(request: DepositRequest): Promise<DepositResult> {
  const applied = await applyDeposit({ operationKey: `${workflowInfo().workflowId}/apply`, ...request });
  const telemetry = await recordTelemetry({ name: 'deposit.applied', payload: { accountId: request.accountId, amount: request.amount, currency: request.currency } }).then(
    () => 'recorded' as const,
    () => 'lost' as const,
  );
  return { entryId: applied.entryId, balance: applied.balance, appliedNow: applied.appliedNow, attempts: applied.attempt, telemetry };
}

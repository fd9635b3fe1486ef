/** The deposit job, as callers and the workflow share it (bundle-safe). An exactly-once effect. */

/** `operationId` comes from the client's Idempotency-Key when there is one, so a retry maps to the same workflow. */
export const depositWorkflowId = (accountId: string, operationId: string) => `deposit:${accountId}:${operationId}`;

export interface DepositRequest {
  accountId: string;
  /** Minor units (cents), a positive safe integer. */
  amount: number;
  /** ISO 4217, e.g. 'EUR'. */
  currency: string;
}

export interface DepositResult {
  entryId: string;
  balance: number;
  /** True when this run applied the deposit; false when a retry found it already applied. */
  appliedNow: boolean;
  /** Attempts the apply step took: 2 or more means a retry happened (and did not double it). */
  attempts: number;
  /** At-most-once telemetry: 'lost' is acceptable and counted, never retried. */
  telemetry: 'recorded' | 'lost';
}

export function depositStart(request: DepositRequest & { operationId: string }) {
  const { operationId, ...input } = request;
  return {
    workflowType: 'deposit',
    workflowId: depositWorkflowId(input.accountId, operationId),
    args: [input] as const,
    summary: `Deposit ${input.amount} ${input.currency} (minor units) to account ${input.accountId}`,
    details: 'Applies the deposit exactly once (operation key and balance change in one transaction), then records telemetry at most once.',
  };
}

/**
 * The deposit workflow's delivery semantics on the time-skipping test server, activities mocked:
 * the apply step is retried (at-least-once), telemetry gets exactly one attempt (at-most-once),
 * and a business refusal is not retried.
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CURRENCY_MISMATCH, type DepositApplied, type DepositInput } from '../../activities/accounts';
import { workflowTestKit, type WorkflowTestKit } from '../../worker/testing';
import { depositWorkflowId, type DepositResult } from '../../workflows/deposit/definition';
import { depositJob } from '../../workflows/deposit/job';
import { uniqueTag } from '../support/env';

let kit: WorkflowTestKit;
beforeAll(async () => (kit = await workflowTestKit()));
afterAll(() => kit?.teardown());

interface Script {
  applyFailures?: number;
  applyRefusal?: string;
  telemetryFails?: boolean;
}

async function runDeposit(script: Script) {
  const calls = { apply: [] as Array<DepositInput & { attempt: number }>, telemetry: 0 };
  const activities = {
    async applyDeposit(input: DepositInput): Promise<DepositApplied> {
      const { attempt } = Context.current().info;
      calls.apply.push({ ...input, attempt });
      if (script.applyRefusal) throw ApplicationFailure.nonRetryable('refused', script.applyRefusal);
      if (attempt <= (script.applyFailures ?? 0)) throw new Error(`database unavailable (attempt ${attempt})`);
      return { entryId: input.operationKey, balance: 1_000 + input.amount, appliedNow: attempt === 1, attempt };
    },
    async recordTelemetry(): Promise<void> {
      calls.telemetry++;
      if (script.telemetryFails) throw new Error('analytics sink down');
    },
  };
  const accountId = uniqueTag('acct');
  const workflowId = depositWorkflowId(accountId, 'op-1');
  const outcome = await kit.execute(depositJob, { accountId, amount: 5_000, currency: 'USD', operationId: 'op-1' }, activities).then(
    (result) => ({ result: result as DepositResult, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  return { ...outcome, calls, workflowId };
}

test('applies the deposit with an operation key derived from the workflow ID, then records telemetry', async () => {
  const { result, calls, workflowId } = await runDeposit({});
  expect(calls.apply).toEqual([expect.objectContaining({ operationKey: `${workflowId}/apply`, amount: 5_000, currency: 'USD', attempt: 1 })]);
  expect(calls.telemetry).toBe(1);
  expect(result).toEqual({ entryId: `${workflowId}/apply`, balance: 6_000, appliedNow: true, attempts: 1, telemetry: 'recorded' });
});

test('at-least-once: a failing apply is retried with the same operation key until it succeeds', async () => {
  const { result, calls } = await runDeposit({ applyFailures: 2 });
  expect(calls.apply.map((c) => c.attempt)).toEqual([1, 2, 3]);
  expect(new Set(calls.apply.map((c) => c.operationKey)).size).toBe(1);
  expect(result).toMatchObject({ attempts: 3 });
});

test('at-most-once: failing telemetry is tried exactly once and counted as lost; the deposit still succeeds', async () => {
  const { result, calls } = await runDeposit({ telemetryFails: true });
  expect(calls.telemetry).toBe(1);
  expect(result).toMatchObject({ telemetry: 'lost', balance: 6_000 });
});

test('a business refusal (currency mismatch) fails the deposit without a retry', async () => {
  const { error, calls } = await runDeposit({ applyRefusal: CURRENCY_MISMATCH });
  expect(error).toBeInstanceOf(WorkflowFailedError);
  // A local activity's failure reaches the workflow unwrapped (no ActivityFailure around it).
  expect((error as WorkflowFailedError).cause).toMatchObject({ type: CURRENCY_MISMATCH, nonRetryable: true });
  expect(calls.apply).toHaveLength(1);
  expect(calls.telemetry).toBe(0);
});

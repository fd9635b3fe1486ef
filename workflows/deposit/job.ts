/** The deposit job type: "add N to the balance", made exactly-once by an operation key. */
import { z } from 'zod';
import { amount, currency, ownedId } from '../../platform/schemas';
import { declareJob, submitRoute } from '../declaration';
import { depositStart, type DepositRequest } from './definition';

export const depositJob = declareJob<DepositRequest & { operationId: string }>({
  name: 'deposit',
  description:
    'Credits an account exactly once: the ledger entry, the balance change and the operation key commit in one transaction; ' +
    'then records telemetry at most once. With an Idempotency-Key, a retried request maps to the same deposit.',
  workflowType: 'deposit',
  start: depositStart,
  submit: submitRoute({
    path: '/v1/accounts/:accountId/deposits',
    params: z.object({ accountId: ownedId }),
    body: z.strictObject({ amount, currency }),
    // With an Idempotency-Key the job ID derives from it, so no retry of this request can ever
    // start a second deposit; without one, every POST is a new deposit.
    toInput: ({ params, body, operationId }) => ({ accountId: params.accountId, ...body, operationId }),
  }),
});

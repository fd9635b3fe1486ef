/**
 * Correlation IDs inside workflows (bundled with the workflow code). The ID arrives in the
 * `correlation-id` header of the start (or, failing that, the CorrelationId search attribute) and
 * leaves on every activity, child workflow, signal and continue-as-new this workflow issues, and
 * on its log lines. A child also gets it as its CorrelationId search attribute, so the Web UI's
 * `CorrelationId="…"` finds the whole tree. Activities also get the workflow's tenant (its
 * TenantId search attribute) in the `tenant-id` header.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import {
  workflowInfo,
  type ActivityInput,
  type ContinueAsNewInput,
  type LocalActivityInput,
  type Next,
  type SignalWorkflowInput,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { CORRELATION_HEADER, CorrelationIdKey, TENANT_HEADER, TenantIdKey } from '../platform/temporal-keys';

// Module state is per workflow execution: each run has its own copy of the bundle's globals.
let correlationId: string | undefined;

/** The tenant owning this workflow (its TenantId search attribute), for its activities: they act on that tenant's data only. */
function withTenant<T extends { headers: Record<string, unknown> }>(input: T): T {
  const tenant = workflowInfo().typedSearchAttributes.get(TenantIdKey);
  return tenant ? { ...input, headers: { ...input.headers, [TENANT_HEADER]: defaultPayloadConverter.toPayload(tenant) } } : input;
}

function withHeader<T extends { headers: Record<string, unknown> }>(input: T, id = correlationId): T {
  if (!id) return input;
  return { ...input, headers: { ...input.headers, [CORRELATION_HEADER]: defaultPayloadConverter.toPayload(id) } };
}

class CorrelationInbound implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const header = input.headers[CORRELATION_HEADER];
    correlationId = header ? (defaultPayloadConverter.fromPayload(header) as string) : workflowInfo().typedSearchAttributes.get(CorrelationIdKey);
    return next(input);
  }
}

class CorrelationOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    return next(withTenant(withHeader(input)));
  }
  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>) {
    return next(withTenant(withHeader(input)));
  }
  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>) {
    return next(withHeader(input));
  }
  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>) {
    return next(withHeader(input));
  }
  startChildWorkflowExecution(input: StartChildWorkflowExecutionInput, next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>) {
    const given = input.options.typedSearchAttributes;
    const pairs = Array.isArray(given) ? given : [];
    // A child started for an event (a reaction) names that event's correlation ID itself: it
    // carries that one, not the ID of whatever first started this long-lived parent.
    const own = pairs.find((p) => p.key.name === CorrelationIdKey.name)?.value as string | undefined;
    const hasCorrelation = own !== undefined || (given && !Array.isArray(given));
    const options =
      correlationId && !hasCorrelation ? { ...input.options, typedSearchAttributes: [...pairs, { key: CorrelationIdKey, value: correlationId }] } : input.options;
    return next(withHeader({ ...input, options }, own ?? correlationId));
  }
  getLogAttributes(input: Record<string, unknown>, next: Next<WorkflowOutboundCallsInterceptor, 'getLogAttributes'>) {
    return next(correlationId ? { ...input, correlationId } : input);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new CorrelationInbound()],
  outbound: [new CorrelationOutbound()],
});

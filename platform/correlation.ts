/**
 * Correlation IDs outside workflows: one AsyncLocalStorage holds the current ID (set per HTTP
 * request, per outbox row, per activity); the client interceptor puts it in the header of every
 * call to Temporal, and the activity interceptor takes it out again. Workflows carry it in
 * between (workflows/interceptors.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { CORRELATION_HEADER } from './temporal-keys';

const storage = new AsyncLocalStorage<string>();

export const currentCorrelationId = (): string | undefined => storage.getStore();

/** Run `fn` with `correlationId` as the current correlation ID. */
export const withCorrelationId = <T>(correlationId: string, fn: () => T): T => storage.run(correlationId, fn);

function withHeader<T extends { headers: Headers }>(input: T): T {
  const id = storage.getStore();
  return id ? { ...input, headers: { ...input.headers, [CORRELATION_HEADER]: defaultPayloadConverter.toPayload(id) } } : input;
}

export const correlationClientInterceptor: WorkflowClientInterceptor = {
  start: (input, next) => next(withHeader(input)),
  startWithDetails: (input, next) => next(withHeader(input)),
  signal: (input, next) => next(withHeader(input)),
  signalWithStart: (input, next) => next(withHeader(input)),
  query: (input, next) => next(withHeader(input)),
  startUpdate: (input, next) => next(withHeader(input)),
};

/** Activities run inside the correlation ID of the workflow that scheduled them, and log it. */
export const correlationActivityInterceptor: ActivityInterceptorsFactory = () => {
  let id: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const header = input.headers[CORRELATION_HEADER];
        id = header ? (defaultPayloadConverter.fromPayload(header) as string) : undefined;
        return id ? storage.run(id, () => next(input)) : next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next(id ? { ...attributes, correlationId: id } : attributes),
    },
  };
};

/**
 * Loaded by path (DataConverter.failureConverterPath) in clients, workers and the workflow bundle,
 * so it must stay bundle-safe: no Node modules. Failure messages and stack traces can quote PII
 * (an activity's error about an address); encodeCommonAttributes moves them into a payload, which
 * the payload codec (platform/codec.ts) encrypts like any other.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

import { createAccountActivities } from './accounts';
import { createEmailActivities, type EmailDeps } from './email';
import { createStreamActivities } from './streams';
import { createOrderActivities } from './orders';

export type ActivityDeps = EmailDeps;

/** Every activity the worker registers, built from its dependencies (no globals). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createEmailActivities(deps),
    ...createAccountActivities(deps),
    ...createStreamActivities(deps),
    ...createOrderActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

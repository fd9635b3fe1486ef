import type { Transporter } from 'nodemailer';
import type { Database } from '../db/database';
import { createAccountActivities } from './accounts';
import { createEmailActivities } from './email';
import { createOrderActivities } from './orders';
import { createStreamActivities } from './streams';

/** What the activities need: the app database, and the mailer with the From address it sends as. */
export interface ActivityDeps {
  db: Database;
  mailer: Transporter;
  from: string;
}

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

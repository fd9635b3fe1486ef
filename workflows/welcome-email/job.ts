/** The welcome-email job type: the task-queue pattern (validate, enqueue, answer 202; the worker does SMTP). */
import { z } from 'zod';
import { email, internalId, ownedId, text } from '../../platform/schemas';
import { declareJob, messageRoute, submitRoute } from '../declaration';
import { unsubscribeSignal, welcomeEmailStart, welcomeEmailWorkflowId, type WelcomeEmailInput } from './definition';

/** Who is welcomed: POST /v1/welcome-emails, and POST /v1/users (whose outbox row starts the job). */
export const newUser = z.strictObject({
  userId: ownedId,
  email,
  name: text(100),
});

/** The user as the outbox stored it: its ID already internal. */
const storedUser = newUser.extend({ userId: internalId });

const userPath = z.object({ userId: ownedId });

export const welcomeEmailJob = declareJob<WelcomeEmailInput>({
  name: 'welcome-email',
  description: 'Sends a welcome email at once and a getting-started follow-up later, unless the user unsubscribes first. One per user, ever.',
  workflowType: 'welcomeEmail',
  start: welcomeEmailStart,
  submit: submitRoute({
    path: '/v1/welcome-emails',
    body: newUser,
    toInput: ({ body, config }) => ({ ...body, followUpDelayMs: config.welcomeFollowUpDelayMs }),
  }),
  messages: [
    messageRoute({
      description: 'Stop the follow-up email (signal `unsubscribe`); the welcome email is not affected.',
      path: '/v1/welcome-emails/:userId/unsubscribe',
      params: userPath,
      jobId: ({ userId }) => welcomeEmailWorkflowId(userId),
      send: (handle) => handle.signal(unsubscribeSignal),
      closed: ({ userId }, job) => ({
        status: 409,
        slug: 'job-closed',
        title: 'The welcome job has already finished',
        detail: `Job '${welcomeEmailWorkflowId(userId)}' is ${job.status}; there is no follow-up left to stop.`,
      }),
      accepted: ({ userId }) => ({ jobId: welcomeEmailWorkflowId(userId) }),
    }),
  ],
  outbox: {
    eventType: 'UserSignedUp',
    payload: storedUser,
    toInput: (user, config) => ({ ...user, followUpDelayMs: config.welcomeFollowUpDelayMs }),
  },
});

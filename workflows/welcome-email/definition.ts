/** The welcome-email job, as callers and the workflow share it (bundle-safe). The task-queue pattern. */
import { defineSignal } from '@temporalio/workflow';

export const welcomeEmailWorkflowId = (userId: string) => `welcome-email:${userId}`;

export interface WelcomeEmailInput {
  userId: string;
  email: string;
  name: string;
  /** How long after the welcome email the "getting started" follow-up goes out. */
  followUpDelayMs: number;
}

export interface WelcomeEmailResult {
  welcomeMessageId: string;
  followUp: { sent: true; messageId: string } | { sent: false; reason: 'unsubscribed' };
}

export const unsubscribeSignal = defineSignal('unsubscribe');

/** One welcome per user, ever: the job ID is the user's. */
export function welcomeEmailStart(input: WelcomeEmailInput) {
  return {
    workflowType: 'welcomeEmail',
    workflowId: welcomeEmailWorkflowId(input.userId),
    args: [input] as const,
    summary: `Welcome email for user ${input.userId}`,
    details:
      'Sends the welcome email at once, then waits and sends a getting-started follow-up, ' +
      'unless the user unsubscribes first (signal `unsubscribe`).',
  };
}

/**
 * What every workflow shows of itself while it runs: its current step, answered to the `progress`
 * query (GET /v1/jobs/<id>) and shown as the Web UI's current details. Bundle-safe.
 */
import { defineQuery, setCurrentDetails, setHandler } from '@temporalio/workflow';

export interface Progress {
  step: string;
}
export const progressQuery = defineQuery<Progress>('progress');

/**
 * Install the progress query, enter the first step and return `enterStep`, which moves the job to
 * its next step (the Web UI shows `details`, by default the step). Call it first thing in the
 * workflow. `stepOf` overrides what the query answers (the order derives it from its saga view).
 */
export function trackSteps(first: string, options: { details?: string; stepOf?: () => string } = {}): (next: string, details?: string) => void {
  let step = first;
  setHandler(progressQuery, () => ({ step: options.stepOf ? options.stepOf() : step }));
  const enterStep = (next: string, details = `**Step:** ${next}`) => {
    step = next;
    setCurrentDetails(details);
  };
  enterStep(first, options.details);
  return enterStep;
}

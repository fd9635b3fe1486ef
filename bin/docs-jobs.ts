/**
 * `npm run docs:jobs`: writes docs/jobs.md, the list of job types, from the registry
 * (workflows/registry.ts). test/docs.test.ts fails when the file is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JobDeclaration } from '../workflows/declaration';
import { jobs } from '../workflows/registry';

export const jobsDocPath = path.join(__dirname, '..', 'docs', 'jobs.md');

function jobSection(job: JobDeclaration): string {
  const lines = [`## ${job.name}`, '', job.description, '', `- Workflow type: \`${job.workflowType}\``];
  if (job.lane) {
    const { partitions, batchSize, maxAttempts } = job.lane;
    lines.push(
      `- Runs on the lane: \`POST /v1/lanes/${job.name}/items\` (one item, or up to 1,000, each with its own key) → 202; \`GET /v1/lanes/${job.name}/items/<itemId>\`, \`…/items?correlationId=\`, \`…/failed\`, \`POST …/items/<itemId>/retry\`; ` +
        `${partitions} partitions, batches of ${batchSize}, up to ${maxAttempts} attempts`,
    );
  }
  if (job.submit) lines.push(`- Submit: \`POST ${job.submit.path}\` → 202 + Location (an Idempotency-Key is honoured)`);
  if (!job.lane) lines.push(`- Status: \`GET ${job.status?.path ?? '/v1/jobs/<jobId>'}\``);
  for (const message of job.messages ?? []) lines.push(`- \`POST ${message.path}\`: ${message.description}`);
  if (job.outbox) lines.push(`- Started by the outbox relay on \`${job.outbox.eventType}\``);
  if (job.startedBy) lines.push(`- Started by ${job.startedBy}`);
  if (job.activities) lines.push('- Has activities of its own (its `activities.ts`)');
  return lines.join('\n');
}

export function renderJobsDoc(): string {
  return [
    '# Job types',
    '',
    'Generated from `workflows/registry.ts` by `npm run docs:jobs`; do not edit by hand. How a job type is declared, and how to add one: [architecture.md](architecture.md#job-types).',
    '',
    ...jobs.map(jobSection).join('\n\n').split('\n'),
    '',
  ].join('\n');
}

if (require.main === module) {
  fs.writeFileSync(jobsDocPath, renderJobsDoc());
  console.log(`wrote ${path.relative(process.cwd(), jobsDocPath)} (${jobs.length} job types)`);
}

/** Docs that are generated from code must match it: a new job type without `npm run docs:jobs` fails here. */
import fs from 'node:fs';
import { jobsDocPath, renderJobsDoc } from '../bin/docs-jobs';

test('docs/jobs.md lists the registered job types as the registry declares them', () => {
  expect(fs.readFileSync(jobsDocPath, 'utf8')).toBe(renderJobsDoc());
});

/** Docs that are generated from code must match it: a new job type without `npm run docs:jobs` fails here. */
import fs from 'node:fs';
import { isPublicPath } from '../api/auth';
import { jobsDocPath, renderJobsDoc } from '../bin/docs-jobs';

test('docs/jobs.md lists the registered job types as the registry declares them', () => {
  expect(fs.readFileSync(jobsDocPath, 'utf8')).toBe(renderJobsDoc());
});

/** Where the docs' examples reach Conveyor's API; every example there, but for the public routes, must show the key. */
const CONVEYOR_API_HOSTS = ['127.0.0.1:3000', 'localhost:3000', 'conveyor-api.example.com'];

/** Each `curl` command of a Markdown file, its continuation lines joined. */
function curlCommands(markdown: string): string[] {
  return markdown
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('curl '));
}

test.each(['README.md', ...fs.readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)])('every curl example in %s to an authenticated route sends credentials', (file) => {
  const missing = curlCommands(fs.readFileSync(file, 'utf8')).filter((cmd) => {
    const url = /https?:\/\/[^\s'"]+/.exec(cmd)?.[0];
    if (!url) return false;
    const { host, pathname: path } = new URL(url.replace(/…/g, 'x'));
    // Other services' examples (Jaeger, Prometheus, the Web UI) are not Conveyor's API.
    return CONVEYOR_API_HOSTS.includes(host) && !isPublicPath(path) && !/-H ["']Authorization: Bearer /i.test(cmd);
  });
  expect(missing).toEqual([]);
});

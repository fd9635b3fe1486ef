/** Helpers for the tests that hunt for PII: a unique person, and the CLI's view of a history. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary, TEMPORAL_CLI } from '../../platform/temporal-binaries';
import { uniqueTag } from './env';

/** A person whose email and name appear nowhere else, so any sighting is a leak of this run's data. */
export function uniquePerson() {
  const tag = uniqueTag('pii').replace(/-/g, '');
  return { userId: uniqueTag('u'), email: `${tag}@leak-hunt.example`, name: `Zyx${tag}` };
}

/** `temporal workflow show --output json` as an operator without the codec would run it (or with it, given `--codec-*` args). */
export async function cliWorkflowShow(address: string, namespace: string, workflowId: string, extraArgs: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(
    requireBinary(TEMPORAL_CLI),
    ['workflow', 'show', '--address', address, '--namespace', namespace, '--workflow-id', workflowId, '--output', 'json', ...extraArgs],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** A base64 search too: the CLI prints payload data base64-encoded, so look for both forms. */
export function mentions(haystack: string, needle: string): boolean {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // Any of the three base64 alignments of the needle, trimmed of its unstable edge characters.
  const variants = [0, 1, 2].map((shift) => b64('..'.slice(0, shift) + needle).slice(4, -4)).filter((v) => v.length >= 8);
  return haystack.includes(needle) || variants.some((v) => haystack.includes(v));
}

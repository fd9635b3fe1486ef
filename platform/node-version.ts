/**
 * Imported first by every entry point (and by jest's global setup): stop at once, with a message
 * that says what to do, on a Node line Conveyor does not support. Without it, Node 20 dies later
 * with a native-module error from better-sqlite3 13 that names neither Node nor the fix.
 *
 * Supported: Node 22 and 24, the LTS lines in late 2026 (Node 20 reached end of life in April
 * 2026). 22 is also better-sqlite3 13's floor (12.x aborts on Node 24 in Statement::~Statement).
 */
export const SUPPORTED_NODE = '22 or 24';

export function isSupportedNode(version: string): boolean {
  return Number(version.replace(/^v/, '').split('.')[0]) >= 22;
}

if (!isSupportedNode(process.versions.node)) {
  process.stderr.write(
    `conveyor: Node ${process.versions.node} is not supported; use Node ${SUPPORTED_NODE}.\n` +
      '  (with nvm: `nvm install 24 && nvm use 24`, then `npm ci` to rebuild the native modules)\n',
  );
  process.exit(1);
}

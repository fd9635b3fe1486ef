// Sums the jest JSON results written during one .ci/run (every Node line, and the cluster run)
// and prints one plain closing line, "Tests: N passed, N failed, N skipped", so whoever reads
// the end of the CI log sees how many tests ran without scrolling back through each runner.
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const name of files) {
  const result = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  totals.passed += result.numPassedTests;
  totals.failed += result.numFailedTests;
  totals.skipped += result.numPendingTests + result.numTodoTests;
  console.log(`${name.replace(/\.json$/, '')}: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
}
if (files.length === 0) {
  console.error(`no jest results in ${dir}: no test ran`);
  process.exit(1);
}
console.log(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);

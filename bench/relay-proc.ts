/** Conveyor's outbox relay role (bin/relay.ts) for a benchmark: it must never outlive the harness. */
process.on('disconnect', () => process.exit(1));
require('../bin/relay');

/** Conveyor's own API role (bin/api.ts), plus one rule for the benchmark: never outlive the harness. */
process.on('disconnect', () => process.exit(1));
import '../bin/api';

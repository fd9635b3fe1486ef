/** Conveyor's own API role (api/main.ts), plus one rule for the benchmark: never outlive the harness. */
process.on('disconnect', () => process.exit(1));
import '../api/main';

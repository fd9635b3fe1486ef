/**
 * Test-only crash points. CONVEYOR_TEST_FAILPOINT=<name> makes the process SIGKILL itself when
 * it reaches that point, so fault tests can prove what survives a crash at an exact moment.
 * Unset (always, outside tests) it does nothing.
 */
export function failpoint(name: string): void {
  if (process.env.CONVEYOR_TEST_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}

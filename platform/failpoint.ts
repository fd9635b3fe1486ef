/**
 * Test-only fault points. CONVEYOR_TEST_FAILPOINT=<name> makes the process SIGKILL itself when
 * it reaches that point; <name>:throw makes that point throw instead. Fault tests use them to
 * prove what survives a crash or an error at an exact moment. Unset (always, outside tests) they
 * do nothing.
 */
export function failpoint(name: string): void {
  const armed = process.env.CONVEYOR_TEST_FAILPOINT;
  if (armed === name) process.kill(process.pid, 'SIGKILL');
  if (armed === `${name}:throw`) throw new Error(`failpoint ${name} fired`);
}

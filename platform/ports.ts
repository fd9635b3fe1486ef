import fs from 'node:fs';
import net from 'node:net';

/**
 * Ports are chosen below the kernel's ephemeral range, not by listening on port 0: the OS picks
 * port 0's answer from that range, where any outgoing connection on the machine may take it as its
 * source port before the caller binds it (CI saw `PORT 34507 on 127.0.0.1 is already in use` with
 * parallel test workers connecting all the time). Below the range only listeners compete.
 */
const LOWEST = 20_000;
const handedOut = new Set<number>();

function ephemeralRangeStart(): number {
  try {
    const start = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) ? start : 32_768;
  } catch {
    return 32_768; // Linux's default
  }
}

/** Listens on `port` (0: the OS picks) on loopback and closes again: the port it got, or undefined if taken. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error)));
    server.listen(port, '127.0.0.1', () => {
      const { port: got } = server.address() as net.AddressInfo;
      server.close(() => resolve(got));
    });
  });
}

/** A TCP port on loopback that was free a moment ago, never the same one twice in this process. */
export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; end > LOWEST && attempt < 100; attempt++) {
    const candidate = LOWEST + Math.floor(Math.random() * (end - LOWEST));
    if (handedOut.has(candidate)) continue;
    const port = await tryListen(candidate);
    if (port !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  // No room below the ephemeral range (an unusual ip_local_port_range): let the OS pick.
  return (await tryListen(0))!;
}

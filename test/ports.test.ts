import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../platform/ports';

const ephemeralStart = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test("free ports come from below the kernel's ephemeral range (where outgoing connections cannot take them), bindable, never the same twice", async () => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  expect(ports.filter((p) => p < 20_000 || p >= ephemeralStart)).toEqual([]);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
  await new Promise((resolve) => server.close(resolve));
});

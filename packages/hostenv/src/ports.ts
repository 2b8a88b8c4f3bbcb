/**
 * Loopback ports: one free port chosen by the kernel, and an environment's reserved ports (lock
 * files shared by every environment on the machine).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** One free loopback port (the kernel's choice; for a process started right after). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Ports for an environment, below the kernel's ephemeral range (32768+ here) so that no outgoing
 * connection can take one between the choice and the service's bind, and reserved with a lock
 * file per port in /tmp so that environments started at the same time never pick the same one.
 * A reservation names the environment's root; it is released by `HostEnv.stop()` and considered
 * stale once that root has no state.json for a minute.
 */
export const PORT_LOCKS = path.join(os.tmpdir(), 'videoflix-hostenv-ports');
const PORT_RANGE = [20000, 32000] as const;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function lockIsStale(file: string): boolean {
  try {
    const root = fs.readFileSync(file, 'utf8').trim();
    const age = Date.now() - fs.statSync(file).mtimeMs;
    return age > 60_000 && !fs.existsSync(path.join(root, 'state.json'));
  } catch {
    return false;
  }
}

export async function reservePorts(n: number, root: string): Promise<number[]> {
  fs.mkdirSync(PORT_LOCKS, { recursive: true, mode: 0o1777 });
  const ports: number[] = [];
  for (let attempts = 0; ports.length < n; attempts++) {
    if (attempts > 2000) throw new Error(`no free ports in ${PORT_RANGE.join('-')} (${PORT_LOCKS})`);
    const port = PORT_RANGE[0] + crypto.randomInt(PORT_RANGE[1] - PORT_RANGE[0]);
    if (ports.includes(port)) continue;
    const lock = path.join(PORT_LOCKS, String(port));
    if (fs.existsSync(lock) && lockIsStale(lock)) fs.rmSync(lock, { force: true });
    try {
      fs.writeFileSync(lock, `${root}\n`, { flag: 'wx' });
    } catch {
      continue; // reserved by another environment
    }
    if (await canBind(port)) ports.push(port);
    else fs.rmSync(lock, { force: true });
  }
  return ports;
}

/** Releases the reservations of `ports` that this root holds. */
export function releasePorts(ports: number[], root: string): void {
  for (const port of ports) {
    const lock = path.join(PORT_LOCKS, String(port));
    try {
      if (fs.readFileSync(lock, 'utf8').trim() === root) fs.rmSync(lock, { force: true });
    } catch {
      // not reserved (any more)
    }
  }
}

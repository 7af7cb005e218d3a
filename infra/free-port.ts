import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Below this lie well-known services' ports (Postgres' 5432, MinIO's 9000, Temporal's 7233…). */
const LOWEST = 20000;

/**
 * The first port of the kernel's ephemeral range. The ports handed out here lie below it: a port from
 * that range, free a moment ago, can be taken by any outgoing connection (a busy test stack makes
 * hundreds) before the server meant for it binds it.
 */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > LOWEST + 1000) return first;
  } catch {
    // not Linux: IANA's dynamic range starts here
  }
  return 49152;
}

/**
 * Returns `count` distinct ports that were free a moment ago, chosen at random below the ephemeral
 * range. They are held open together while being chosen so one call never hands out the same port twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const top = ephemeralStart();
  try {
    for (let attempt = 0; servers.length < count; attempt++) {
      if (attempt > 1000) throw new Error(`no ${count} free ports between ${LOWEST} and ${top} on ${host}`);
      const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
      try {
        servers.push(await listen(port, host));
      } catch {
        // taken: draw again
      }
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** True when nothing is listening on host:port (we could bind it ourselves). */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await close(await listen(port, host));
    return true;
  } catch {
    return false;
  }
}

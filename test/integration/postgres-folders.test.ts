import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/free-port';
import { startPostgresServer } from '../../infra/postgres-server';

const isRoot = process.getuid?.() === 0;

describe('PostgreSQL for a data folder the postgres user cannot enter', () => {
  it('starts anyway, opens up none of the folders above, and cleans a throw-away cluster away', async () => {
    // mkdtemp makes the folder 0700, like /root: as root, the server runs as `postgres`, who cannot enter.
    const privateDir = mkdtempSync(join(tmpdir(), 'intake-private-'));
    const dataDir = join(privateDir, 'data');
    mkdirSync(dataDir);
    const lines: string[] = [];
    const server = await startPostgresServer({
      dataDir,
      port: await freePort(),
      durable: false,
      migrate: false,
      log: (line) => lines.push(line),
    });
    let relocated: string | undefined;
    try {
      const client = new pg.Client({ connectionString: server.databaseUrl });
      await client.connect();
      try {
        expect((await client.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]?.ok).toBe(1);
      } finally {
        await client.end();
      }
      expect(statSync(privateDir).mode & 0o777).toBe(0o700);
      relocated = /the cluster lives in (\S+)/.exec(lines.join('\n'))?.[1];
      if (isRoot) {
        expect(relocated, lines.join('\n')).toMatch(/^\/var\/lib\/intake\/postgres\//);
        expect(existsSync(join(relocated!, 'PG_VERSION'))).toBe(true);
        expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
      } else {
        // Not root: the server runs as us, and the cluster stays in the data folder.
        expect(relocated).toBeUndefined();
        expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
      }
    } finally {
      await server.stop();
      rmSync(privateDir, { recursive: true, force: true });
    }
    if (relocated) expect(existsSync(relocated)).toBe(false);
  });
});

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { postgresClientPath } from '../../infra/tools';

/*
 * The client tools backups need, against the test stack's embedded PostgreSQL: set-up's pg_dump is the
 * server's major version (Debian's 15 refuses an 18 server), and its custom-format archive streams
 * straight into pg_restore --list, as a backup's verification reads it.
 */

const execFileAsync = promisify(execFile);

/** libpq reads the password from the environment, so it never shows in a process list. */
function connection(): { url: string; env: NodeJS.ProcessEnv } {
  const url = new URL(loadConfig().databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  url.search = '';
  return { url: url.toString(), env: { ...process.env, PGPASSWORD: password } };
}

describe('PostgreSQL client tools from set-up', () => {
  it("pg_dump and pg_restore have the server's major version", async () => {
    const client = new pg.Client({ connectionString: loadConfig().databaseUrl });
    await client.connect();
    const serverMajor = await client
      .query<{ server_version_num: string }>('SHOW server_version_num')
      .then((result) => Math.floor(Number(result.rows[0]?.server_version_num) / 10_000))
      .finally(() => client.end());
    for (const tool of ['pg_dump', 'pg_restore'] as const) {
      const { stdout } = await execFileAsync(postgresClientPath(tool), ['--version']);
      expect(stdout).toMatch(new RegExp(`\\(PostgreSQL\\) ${serverMajor}\\.`));
    }
  });

  it('a custom-format dump streams into pg_restore --list, which lists the File table', async () => {
    const { url, env } = connection();
    const dump = spawn(postgresClientPath('pg_dump'), ['--format=custom', '--dbname', url], { env });
    const list = spawn(postgresClientPath('pg_restore'), ['--list'], { env });
    // pg_restore --list stops reading once it has the table of contents, which a custom archive holds
    // first, so the rest of the stream meets a closed pipe: EPIPE there is expected, the rest of the dump
    // is drained so pg_dump can finish, and the exit codes below are what decide.
    list.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    list.stdin.on('unpipe', () => dump.stdout.resume());
    dump.stdout.pipe(list.stdin);
    let toc = '';
    list.stdout.on('data', (chunk: Buffer) => (toc += chunk.toString()));
    const exitOf = (child: ReturnType<typeof spawn>) =>
      new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', resolve);
      });
    const [dumpExit, listExit] = await Promise.all([exitOf(dump), exitOf(list)]);
    expect({ dumpExit, listExit }).toEqual({ dumpExit: 0, listExit: 0 });
    expect(toc).toMatch(/^\d+; \d+ \d+ TABLE public File /m);
    expect(toc).toMatch(/^\d+; \d+ \d+ TABLE DATA public File /m);
  });
});

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView } from '../../api/file-view';
import { freePort } from '../../infra/free-port';
import { eicarTestFile } from '../support/sample-files';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * The `intake` CLI as a person runs it: bin/intake.mjs as a child process against the real stack
 * (API and workers in this process, Temporal, MinIO, Postgres and clamd from global-setup). Every
 * wait is on a condition with a generous deadline: the machine is shared and slow at times.
 */

const TENANT = 'cli-e2e';
const KEY = 'cli-e2e-key-0001';
const BIN = join(process.cwd(), 'bin', 'intake.mjs');

let intake: RunningIntake<typeof TENANT>;
let work: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `intake …args` in a child process with the tenant's key; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: {
        ...process.env,
        INTAKE_URL: intake.api.url,
        INTAKE_API_KEY: KEY,
        DATABASE_URL: intake.config.databaseUrl,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const png = (width: number, red: number) =>
  sharp({ create: { width, height: 40, channels: 3, background: { r: red, g: 90, b: 160 } } })
    .png()
    .toBuffer();

/** A table row of the summary: the cells between the box-drawing bars. */
const rowOf = (table: string, name: string) =>
  table
    .split('\n')
    .find((line) => line.includes(name))
    ?.split('│')
    .map((cell) => cell.trim())
    .filter(Boolean);

beforeAll(async () => {
  // tus answers with Location on INTAKE_PUBLIC_URL, so the API listens where that URL says.
  const port = await freePort();
  intake = await startIntake({
    tenants: { [TENANT]: KEY },
    env: { INTAKE_PORT: String(port), INTAKE_PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
  work = mkdtempSync(join(tmpdir(), 'intake-cli-e2e-'));
}, 240_000);

afterAll(async () => {
  await intake?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('intake upload --wait', () => {
  it('uploads a folder recursively, exits non-zero and names the bad files in its table', async () => {
    const folder = join(work, 'mixed');
    mkdirSync(join(folder, 'nested'), { recursive: true });
    writeFileSync(join(folder, 'one.png'), await png(64, 10));
    writeFileSync(join(folder, 'nested', 'two.png'), await png(65, 20));
    writeFileSync(join(folder, 'notes.txt'), 'plain words, as text should be\n');
    // Text under an image's name: its type (from the name) disagrees with its content.
    writeFileSync(join(folder, 'nested', 'not-an-image.png'), 'this is text, not a PNG\n');
    writeFileSync(join(folder, 'eicar.txt'), eicarTestFile());

    const run = await cli(['upload', folder, '--wait', '--timeout', '5m', '--tags', 'cli,e2e', '-c', '3']);

    expect(run.code, run.stderr).toBe(1);
    expect(rowOf(run.stdout, 'one.png')).toContain('READY');
    expect(rowOf(run.stdout, 'two.png')).toContain('READY');
    expect(rowOf(run.stdout, 'notes.txt')).toContain('READY');
    const rejected = rowOf(run.stdout, 'not-an-image.png');
    expect(rejected).toContain('REJECTED');
    expect(rejected?.join(' ')).toContain('its content is plain text');
    expect(rowOf(run.stdout, 'eicar.txt')).toContain('INFECTED');
    expect(run.stderr).toMatch(/intake: 2 of 5 files did not end READY: .*eicar\.txt/);
    expect(run.stderr).toContain('not-an-image.png');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    // Not a TTY: plain progress lines, one per upload, then one per outcome.
    expect(run.stderr.match(/^uploaded /gm)).toHaveLength(5);
  }, 300_000);

  it('prints parseable JSON with --json, sends a large file through tus, and exits 0 when all are READY', async () => {
    const folder = join(work, 'good');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.png'), await png(70, 30));
    const text = 'a line of text for the resumable upload\n'.repeat(200_000); // ~8 MiB
    writeFileSync(join(folder, 'large.txt'), text);

    const run = await cli(['upload', folder, '--wait', '--json', '--resumable-from', '1MiB', '--retention', '2d']);

    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as { path: string; id: string; status: string; size: number }[];
    expect(results.map((r) => [r.path.split('/').pop(), r.status])).toEqual([
      ['a.png', 'READY'],
      ['large.txt', 'READY'],
    ]);
    const large = results.find((r) => r.path.endsWith('large.txt'))!;
    expect(large.size).toBe(Buffer.byteLength(text));
    const row = await intake.db.file.findUniqueOrThrow({ where: { id: large.id } });
    expect(row.ingestSource).toMatchObject({ tus: { length: Buffer.byteLength(text) } });

    const status = await cli(['status', large.id, '--json']);
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as FileView;
    expect(view).toMatchObject({ id: large.id, status: 'READY', filename: 'large.txt' });
    expect(Object.keys(view.steps ?? {})).toEqual(['scan', 'validate', 'resize', 'store', 'index', 'notify']);

    const timeline = await cli(['status', large.id]);
    expect(timeline.stdout).toMatch(/│ scan\s+│ done\s+│ 1 /);
  }, 300_000);
});

describe('intake ls, search, get and retention', () => {
  let id: string;

  beforeAll(async () => {
    const path = join(work, 'kept.png');
    writeFileSync(path, await png(80, 200));
    const run = await cli(['upload', path, '--wait', '--json', '--tags', 'kept']);
    expect(run.code, run.stderr).toBe(0);
    id = (JSON.parse(run.stdout) as { id: string }[])[0]!.id;
  }, 300_000);

  it('lists and searches with filters, as a table and as JSON', async () => {
    const listed = await cli(['ls', '--status', 'READY', '--tag', 'kept', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { items: FileView[]; nextCursor: string | null };
    expect(page.items.map((f) => f.id)).toEqual([id]);

    const found = await cli(['search', 'kept', '--type', 'image/*', '--since', '1d', '--json']);
    expect((JSON.parse(found.stdout) as { items: FileView[] }).items.map((f) => f.id)).toContain(id);

    const table = await cli(['ls', '--limit', '2']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/│ id\s+│ filename/);
    expect(table.stderr).toContain('More: --cursor ');

    const none = await cli(['ls', '--status', 'DELETED', '--json']);
    expect(JSON.parse(none.stdout)).toEqual({ items: [], nextCursor: null });
  }, 120_000);

  it('downloads the original and a rendition, to a file and to stdout', async () => {
    const original = readFileSync(join(work, 'kept.png'));
    const saved = await cli(['get', id, '-o', join(work, 'copy.png')]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(readFileSync(join(work, 'copy.png')).equals(original)).toBe(true);
    expect((await cli(['get', id, '-o', join(work, 'copy.png')])).stderr).toContain('exists; pass --force');

    const thumb = await cli(['get', id, '--rendition', 'thumb', '-o', '-']);
    expect(thumb.code).toBe(0);
    expect(thumb.stdout.slice(0, 4)).toBe('RIFF');
  }, 120_000);

  it('holds, refuses rm with the API message, releases, extends and deletes', async () => {
    expect((await cli(['hold', id])).stdout).toContain('on legal hold');
    const refused = await cli(['rm', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^intake: .*legal hold.*\(409 file_on_hold, request /m);
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    expect((await cli(['release', id, '--json'])).stdout).toContain('"hold": false');
    const before = new Date((JSON.parse((await cli(['status', id, '--json'])).stdout) as FileView).expiresAt!);
    const extended = JSON.parse((await cli(['extend', id, '30d', '--json'])).stdout) as { expiresAt: string };
    expect(new Date(extended.expiresAt).getTime() - before.getTime()).toBe(30 * 86_400_000);

    expect((await cli(['rm', id])).code).toBe(0);
    const gone = await cli(['status', id, '--wait', '2m', '--json']);
    expect((JSON.parse(gone.stdout) as FileView).status).toBe('DELETED');
  }, 180_000);
});

describe('intake batch and webhooks', () => {
  it('shows a batch with its counts', async () => {
    const batch = await intake.clients[TENANT].createBatch([
      { body: new Uint8Array(await png(50, 1)), filename: 'b1.png' },
      { body: new Uint8Array(await png(51, 2)), filename: 'b2.png' },
    ]);
    const done = await waitUntil(
      'the batch to be DONE',
      async () => {
        const run = await cli(['batch', batch.id, '--json']);
        const view = JSON.parse(run.stdout) as { status: string; counts: Record<string, number> };
        return view.status === 'DONE' ? view : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    expect(done.counts.READY).toBe(2);
    const table = await cli(['batch', batch.id]);
    expect(table.stdout).toContain('2 READY');
    expect(table.stdout).toContain('b1.png');
  }, 240_000);

  it('adds a webhook, lists it, shows its deliveries and removes it', async () => {
    const added = await cli(['webhooks', 'add', intake.receiver.url('/cli'), '--events', 'file.ready', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const hook = JSON.parse(added.stdout) as { id: string; events: string[] };
    expect(hook.events).toEqual(['file.ready']);
    const listed = JSON.parse((await cli(['webhooks', 'ls', '--json'])).stdout) as { items: { id: string }[] };
    expect(listed.items.map((h) => h.id)).toContain(hook.id);

    const path = join(work, 'hooked.png');
    writeFileSync(path, await png(90, 90));
    expect((await cli(['upload', path, '--wait'])).code).toBe(0);
    const deliveries = await waitUntil(
      'a delivery to the new webhook',
      async () => {
        const run = await cli(['webhooks', 'deliveries', hook.id, '--json']);
        const { items } = JSON.parse(run.stdout) as { items: { event: string; status: string }[] };
        return items.some((d) => d.status === 'delivered') ? items : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(deliveries[0]).toMatchObject({ event: 'file.ready', status: 'delivered' });
    expect((await cli(['webhooks', 'deliveries', hook.id])).stdout).toMatch(/│ file\.ready\s+│ f_\w+\s+│ delivered/);

    expect((await cli(['webhooks', 'rm', hook.id])).code).toBe(0);
    expect(JSON.parse((await cli(['webhooks', 'ls', '--json'])).stdout)).toEqual({ items: [] });
  }, 240_000);
});

describe('intake errors and operator commands', () => {
  it('explains a refused connection, a wrong key and a missing key in one line each', async () => {
    const nobody = await freePort();
    const refused = await cli(['ls'], { INTAKE_URL: `http://127.0.0.1:${nobody}` });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `intake: cannot reach Intake at http://127.0.0.1:${nobody} (ECONNREFUSED); is it running? (--url or INTAKE_URL)`,
    );
    const wrong = await cli(['ls', '--json'], { INTAKE_API_KEY: 'not-a-key-of-anyone' });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/^intake: .+ \(401 unauthorized, request [\w-]+\)\n$/);
    const missing = await cli(['ls'], { INTAKE_API_KEY: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no API key');
  }, 120_000);

  it('creates a key on the database that the API then accepts, and revokes it', async () => {
    const created = await cli(['keys', 'create', 'cli-e2e-operator']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key.length).toBeGreaterThan(20);
    const listed = await cli(['ls', '--json'], { INTAKE_API_KEY: key });
    expect(JSON.parse(listed.stdout)).toEqual({ items: [], nextCursor: null });
    const set = await cli(['tenants', 'limits', 'set', 'cli-e2e-operator', '--files', '5', '--storage', '1MiB']);
    expect(set.stdout).toContain('files    0 of 5\n');
    expect(set.stdout).toContain('storage  0 B of 1 MiB\n');
    const reset = await cli(['tenants', 'limits', 'set', 'cli-e2e-operator', '--files', 'default']);
    expect(reset.code, reset.stderr).toBe(0);
    const shown = await cli(['tenants', 'limits', 'show', 'cli-e2e-operator']);
    expect(shown.stdout).toMatch(/files {4}0 of \d+ \(default\)/);
    expect(shown.stdout).toContain('storage  0 B of 1 MiB\n');

    expect((await cli(['keys', 'revoke', key])).code).toBe(0);
    expect((await cli(['ls'], { INTAKE_API_KEY: key })).code).toBe(1);
  }, 120_000);
});

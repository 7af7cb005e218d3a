import { CommanderError, type Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeFailure } from '../../cli/errors';
import { createProgram } from '../../cli/program';
import type { Terminal } from '../../cli/output/terminal';

/*
 * The intake program parsed in-process: commander's exitOverride turns every exit into a thrown
 * CommanderError, so these tests see the exit code and the message without a child process. The
 * API is a stubbed fetch that records what was asked.
 */

function capture(): Terminal & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text) => (out += String(text)) },
    stderr: { write: (text) => (err += String(text)) },
    out: () => out,
    err: () => err,
  };
}

/** Runs `intake …args`; returns the exit code cli/main.ts would use and what was written. */
async function run(...args: string[]) {
  const terminal = capture();
  let exitCode = 0;
  let message: string | null = null;
  try {
    await createProgram(terminal).parseAsync(args, { from: 'user' });
  } catch (error) {
    ({ exitCode, message } = describeFailure(error));
  }
  return { exitCode, message, stdout: terminal.out(), stderr: terminal.err() };
}

const requests: { url: string; init: RequestInit | undefined }[] = [];
const fileView = {
  id: 'f_one',
  filename: 'a.png',
  contentType: 'image/png',
  declaredContentType: 'image/png',
  size: 10,
  sha256: null,
  status: 'READY',
  reason: null,
  steps: null,
  renditions: [],
  width: null,
  height: null,
  tags: ['x'],
  createdAt: '2026-12-01T10:00:00.000Z',
  completedAt: null,
  expiresAt: null,
  hold: false,
  deletedAt: null,
  workflowId: 'upload-f_one',
  batchId: null,
  traceId: null,
  links: { self: '', content: '', temporalUi: '' },
};

beforeEach(() => {
  requests.length = 0;
  vi.stubEnv('INTAKE_URL', 'http://env.example:3000');
  vi.stubEnv('INTAKE_API_KEY', 'env-key');
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    requests.push({ url, init });
    if (url.includes('/v1/files/f_missing')) {
      return Response.json(
        { error: { code: 'file_not_found', message: 'No file f_missing', requestId: 'r-1' } },
        { status: 404 },
      );
    }
    return Response.json({ items: [fileView], nextCursor: null });
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

const authorizationOf = (init: RequestInit | undefined) => new Headers(init?.headers).get('authorization');

describe('intake arguments', () => {
  it('reads INTAKE_URL and INTAKE_API_KEY, and --url and --api-key override them', async () => {
    await run('ls');
    expect(requests[0]?.url).toMatch(/^http:\/\/env\.example:3000\/v1\/files\?/);
    expect(authorizationOf(requests[0]?.init)).toBe('Bearer env-key');

    await run('--url', 'http://flag.example:4000/', '--api-key', 'flag-key', 'ls', '--status', 'ready');
    const url = new URL(requests[1]!.url);
    expect(url.origin).toBe('http://flag.example:4000');
    expect(url.searchParams.get('status')).toBe('READY');
    expect(authorizationOf(requests[1]?.init)).toBe('Bearer flag-key');
  });

  it('refuses bad flags before any request, as a usage error (exit 2) that names the flag', async () => {
    for (const args of [
      ['upload', '.', '--concurrency', '0'],
      ['upload', '.', '--retention', '30'],
      ['upload', '.', '--callback-url', 'ftp://x'],
      ['ls', '--status', 'nope'],
      ['ls', '--since', 'yesterday'],
      ['extend', 'f_one', '30'],
      ['webhooks', 'add', 'http://h.example', '--events', 'file.eaten'],
      ['tenants', 'limits', 'set', 'acme', '--storage', 'lots'],
      ['keys', 'create', 'Not A Tenant'],
      ['ls', '--bogus'],
      ['bogus'],
      ['status'],
    ]) {
      const result = await run(...args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^intake: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(requests).toEqual([]);
    expect((await run('upload', '.', '--concurrency', '0')).stderr).toContain(
      "--concurrency <n>' argument '0' is invalid. Must be a whole number from 1 to 64.",
    );
  });

  it('says how to get a key when there is none, without a request', async () => {
    vi.stubEnv('INTAKE_API_KEY', '');
    const result = await run('ls');
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain('no API key: set INTAKE_API_KEY or pass --api-key');
    expect(requests).toEqual([]);
  });

  it("prints the API's error message and exits 1", async () => {
    const result = await run('status', 'f_missing');
    expect(result.exitCode).toBe(1);
    expect(result.message).toBe('No file f_missing (404 file_not_found, request r-1)');
  });

  it('explains a refused connection in one line', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    });
    const result = await run('ls');
    expect(result.exitCode).toBe(1);
    expect(result.message).toBe(
      'cannot reach Intake at http://env.example:3000 (ECONNREFUSED); is it running? (--url or INTAKE_URL)',
    );
  });

  it('has --help on every command, exiting 0', async () => {
    const paths: string[][] = [];
    const walk = (command: Command, path: string[]) => {
      for (const sub of command.commands) {
        if (sub.name() === 'help') continue;
        paths.push([...path, sub.name()]);
        walk(sub, [...path, sub.name()]);
      }
    };
    walk(createProgram(capture()), []);
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['upload', 'status', 'ls', 'search', 'get', 'rm', 'hold', 'release', 'extend', 'batch']),
    );
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['webhooks deliveries', 'keys create', 'webhook-secret rotate', 'tenants limits set']),
    );
    for (const path of [[], ...paths]) {
      const result = await run(...path, '--help');
      expect(result.exitCode, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toContain(`Usage: intake ${path.join(' ')}`.trim());
    }
  });

  it('filters by tag and date on its side and stops paging at the first file older than --since', async () => {
    const page = (items: (typeof fileView)[], nextCursor: string | null) => Response.json({ items, nextCursor });
    const at = (id: string, createdAt: string, tags: string[]) => ({ ...fileView, id, createdAt, tags });
    vi.stubGlobal('fetch', async (input: string | URL | Request) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      requests.push({ url: url.href, init: undefined });
      return url.searchParams.get('cursor') === 'p2'
        ? page([at('f_c', '2026-11-20T00:00:00Z', ['x']), at('f_d', '2026-11-01T00:00:00Z', ['x'])], 'p3')
        : page([at('f_a', '2026-11-30T00:00:00Z', ['x', 'y']), at('f_b', '2026-11-29T00:00:00Z', ['y'])], 'p2');
    });
    const result = await run('ls', '--tag', 'x', '--since', '2026-11-10', '--json');
    expect(JSON.parse(result.stdout)).toMatchObject({ items: [{ id: 'f_a' }, { id: 'f_c' }], nextCursor: null });
    expect(requests).toHaveLength(2);
  });
});

describe('commander errors', () => {
  it('map to exit 0 for help and 2 for every usage error', () => {
    expect(describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).exitCode).toBe(0);
    expect(describeFailure(new CommanderError(1, 'commander.unknownOption', 'x')).exitCode).toBe(2);
    expect(describeFailure(new Error('boom'))).toEqual({ message: 'boom', exitCode: 1 });
    // A Temporal failure's own message says nothing; the reason is in its causes.
    const failed = new Error('Workflow execution failed', {
      cause: new Error('Activity task failed', { cause: new Error('pg_dump: connection refused') }),
    });
    expect(describeFailure(failed)).toEqual({
      message: 'Workflow execution failed: Activity task failed: pg_dump: connection refused',
      exitCode: 1,
    });
  });
});

import type { Client } from '@temporalio/client';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createFileFeed,
  type FileChange,
  type FileChangeListener,
  type FileFeed,
} from '../../api/file-events/file-feed';
import { loadConfig } from '../../config/env';
import type { Db } from '../../prisma/db';
import { ACME, expectError, seedFile, setupApi } from '../support/fake-api-services';

/* The Server-Sent Events routes (GET /v1/events/stream, GET /v1/files/{id}/events) and the one shared feed. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

/** A feed the test drives by hand: it records subscribers and emits what the test says. */
function manualFeed() {
  const listeners: { tenantId: string; listener: FileChangeListener }[] = [];
  const closing = new AbortController();
  const feed: FileFeed & { emit(change: FileChange): void; subscribers(): number } = {
    subscribe(tenantId, listener) {
      const entry = { tenantId, listener };
      listeners.push(entry);
      return () => listeners.splice(listeners.indexOf(entry), 1);
    },
    changesAfter: async () => [],
    reads: 0,
    closed: closing.signal,
    close: () => closing.abort(),
    emit: (change) => listeners.filter((l) => l.tenantId === change.tenantId).forEach((l) => l.listener(change)),
    subscribers: () => listeners.length,
  };
  return feed;
}

/** Reads the stream until `done` says it has what it needs (or the stream ends). */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

const fileView = (id: string, status: string) =>
  ({ id, status, filename: `${id}.jpg` }) as unknown as FileChange['file'];

describe('GET /v1/events/stream', () => {
  it('needs the API key, like every /v1 route', async () => {
    const t = setupApi({}, { fileFeed: manualFeed() });
    await expectError(await t.app.request('/v1/events/stream'), 401, 'unauthorized');
  });

  it('answers 400 as JSON for a Last-Event-ID it never sent, or a bad duration', async () => {
    const t = setupApi({}, { fileFeed: manualFeed() });
    const headers = { ...ACME, 'Last-Event-ID': 'yesterday' };
    await expectError(await t.app.request('/v1/events/stream', { headers }), 400, 'invalid_request');
    await expectError(await t.app.request('/v1/events/stream?duration=soon', { headers: ACME }), 400);
  });

  it("streams the tenant's changes as file events, and none of another tenant's", async () => {
    const feed = manualFeed();
    const t = setupApi({}, { fileFeed: feed });
    const res = await t.app.request('/v1/events/stream', { headers: ACME });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await vi.waitFor(() => expect(feed.subscribers()).toBe(1));
    feed.emit({ id: '1_f_other', tenantId: 'globex', file: fileView('f_other', 'READY') });
    feed.emit({ id: '2_f_a', tenantId: 'acme', file: fileView('f_a', 'READY') });
    const text = await readUntil(res, (so) => so.includes('f_a'));
    expect(text).toContain('retry: 2000');
    expect(text).toContain('event: file\ndata: {"id":"f_a","status":"READY","filename":"f_a.jpg"}\nid: 2_f_a\n\n');
    expect(text).not.toContain('f_other');
    await vi.waitFor(() => expect(feed.subscribers()).toBe(0));
  });

  it('replays the changes after Last-Event-ID before going live', async () => {
    const feed = manualFeed();
    feed.changesAfter = async (tenantId, after) => {
      expect(tenantId).toBe('acme');
      expect(after).toEqual({ updatedAt: new Date(1_000), id: 'f_seen' });
      return [{ id: '2000_f_missed', tenantId, file: fileView('f_missed', 'READY') }];
    };
    const t = setupApi({}, { fileFeed: feed });
    const res = await t.app.request('/v1/events/stream', { headers: { ...ACME, 'Last-Event-ID': '1000_f_seen' } });
    expect(await readUntil(res, (so) => so.includes('f_missed'))).toContain('id: 2000_f_missed');
  });

  it('ends the stream after ?duration, and when the API stops', async () => {
    const feed = manualFeed();
    const t = setupApi({}, { fileFeed: feed });
    const short = await t.app.request('/v1/events/stream?duration=1s', { headers: ACME });
    expect(await short.text()).toContain('retry:');
    const open = await t.app.request('/v1/events/stream', { headers: ACME });
    await vi.waitFor(() => expect(feed.subscribers()).toBe(1));
    feed.close();
    expect(await open.text()).toContain('retry:');
    expect(feed.subscribers()).toBe(0);
  });
});

describe('GET /v1/files/{id}/events', () => {
  it('starts with the file as it is, then only its own changes', async () => {
    const feed = manualFeed();
    const t = setupApi({}, { fileFeed: feed });
    seedFile(t, { id: 'f_one', updatedAt: new Date(5_000) });
    const res = await t.app.request('/v1/files/f_one/events', { headers: ACME });
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(feed.subscribers()).toBe(1));
    feed.emit({ id: '6_f_two', tenantId: 'acme', file: fileView('f_two', 'READY') });
    feed.emit({ id: '7_f_one', tenantId: 'acme', file: fileView('f_one', 'DELETED') });
    const text = await readUntil(res, (so) => so.includes('DELETED'));
    expect(text).toMatch(/id: 5000_f_one\n/);
    expect(text.indexOf('"status":"READY"')).toBeLessThan(text.indexOf('DELETED'));
    expect(text).not.toContain('f_two');
  });

  it("404 as JSON for a missing (or another tenant's) file", async () => {
    const t = setupApi({}, { fileFeed: manualFeed() });
    await expectError(await t.app.request('/v1/files/f_none/events', { headers: ACME }), 404, 'file_not_found');
  });
});

describe('the shared file feed', () => {
  let feed: FileFeed | undefined;
  afterEach(() => feed?.close());

  it('without a listener, costs the same queries a look however many streams watch, and reaches each of them', async () => {
    const row = {
      id: 'f_x',
      tenantId: 'acme',
      workflowId: 'upload-f_x',
      filename: 'x.jpg',
      status: 'READY',
      size: 1n,
      tags: [],
      renditions: [],
      steps: null,
      createdAt: new Date(),
      updatedAt: new Date(Date.now() + 1_000),
    };
    const findMany = vi.fn(async ({ where }: { where: { status?: string } }) => (where.status ? [] : [row]));
    const looks = () => findMany.mock.calls.filter(([query]) => !query.where.status).length;
    feed = createFileFeed({
      db: { file: { findMany } } as unknown as Db,
      temporal: {} as Client,
      config: loadConfig({ INTAKE_PUBLIC_URL: 'http://api.test' }),
      log: pino({ level: 'silent' }),
      intervalMs: 20,
    });
    const received: string[][] = Array.from({ length: 200 }, () => []);
    const unsubscribes = received.map((seen) => feed!.subscribe('acme', (change) => seen.push(change.id)));
    await vi.waitFor(() => expect(received.every((seen) => seen.length === 1)).toBe(true));
    await vi.waitFor(() => expect(looks()).toBeGreaterThanOrEqual(3));
    // One query per look (rows changed since the last) for 200 watchers, and one for the tenant's files
    // processing when its first watcher came; the row went out once to each.
    expect(findMany.mock.calls.length).toBe(looks() + 1);
    expect(feed.reads).toBe(findMany.mock.calls.length);
    expect(received.every((seen) => seen.length === 1)).toBe(true);
    for (const unsubscribe of unsubscribes) unsubscribe();
    const reads = feed.reads;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(feed.reads).toBe(reads); // nobody watching: no queries at all
  });

  it("sends a running file's steps as they move, and asks a workflow that does not answer less and less often", async () => {
    const createdAt = new Date();
    const processingRow = (id: string) => ({
      id,
      tenantId: 'acme',
      workflowId: `upload-${id}`,
      filename: `${id}.jpg`,
      status: 'PROCESSING',
      size: 1n,
      tags: [],
      renditions: [],
      steps: null,
      createdAt,
      updatedAt: createdAt,
    });
    const rows = [processingRow('f_live'), processingRow('f_silent')];
    // The tenant's files processing when its first watcher comes; no row changes after that.
    const findMany = vi.fn(async ({ where }: { where: { status?: string } }) => (where.status ? rows : []));
    const asked: Record<string, number> = { f_live: 0, f_silent: 0 };
    let scan = 'running';
    const temporal = {
      workflow: {
        getHandle: (workflowId: string) => ({
          query: async () => {
            const id = workflowId.slice('upload-'.length);
            asked[id] = (asked[id] ?? 0) + 1;
            if (id === 'f_silent') throw new Error('no worker polls its task queue');
            return { status: 'PROCESSING', steps: { scan: { state: scan, attempts: 1 } }, renditions: [], tags: [] };
          },
        }),
      },
      withAbortSignal: (_signal: AbortSignal, fn: () => Promise<unknown>) => fn(),
    } as unknown as Client;
    feed = createFileFeed({
      db: { file: { findMany } } as unknown as Db,
      temporal,
      config: loadConfig({ INTAKE_PUBLIC_URL: 'http://api.test' }),
      log: pino({ level: 'silent' }),
      intervalMs: 20,
    });
    const seen: FileChange[] = [];
    feed.subscribe('acme', (change) => seen.push(change));
    const scanOf = (change: FileChange) => (change.file.steps as Record<string, { state: string }> | null)?.scan?.state;
    await vi.waitFor(() => expect(seen.map(scanOf)).toEqual(['running']));
    scan = 'done';
    await vi.waitFor(() => expect(seen.map(scanOf)).toEqual(['running', 'done']));
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Each step once, for the file whose workflow answers; nothing for the one whose worker is down.
    expect(seen.map((change) => [change.file.id, scanOf(change)])).toEqual([
      ['f_live', 'running'],
      ['f_live', 'done'],
    ]);
    // Asked at every tick (20 ms) vs. after 40, 80, 160, 320 ms…: without the backoff, as often as f_live.
    expect(asked.f_live).toBeGreaterThan(15);
    expect(asked.f_silent).toBeLessThanOrEqual(6);
    // The files processing were read once, when the tenant's first watcher came; steps cost no Postgres.
    expect(findMany.mock.calls.filter(([query]) => query.where.status).length).toBe(1);
  });
});

import { Agent, request, type ClientRequest } from 'node:http';
import type pg from 'pg';
import type { createIntakeClient } from '../api/client';
import { cpuByProcess } from './cpu';
import { percentile, round } from './stats';

export interface WaitersResult {
  /** Long-polls (`GET /v1/files/{id}?wait=60s`) or event streams (`GET /v1/files/{id}/events`). */
  mode: 'long-poll' | 'stream';
  waiters: number;
  quietSeconds: number;
  /** The API's CPU over the quiet window, as a share of one core (0.05 = 5 %). */
  apiCoreShare: number;
  /** Postgres transactions per second (xact_commit + xact_rollback) over the quiet window, the bench's own excluded. */
  postgresQps: number;
  finished: number;
  /** From the UPDATE that finished the files to each waiter's answer (a stream's READY event). */
  answerP50Ms: number;
  answerP95Ms: number;
  answeredFinal: number;
  /** Streams: how many were open at once (BENCH_STREAM_OPEN), and the time until every one had its first event. */
  openConcurrency?: number;
  openedInMs?: number;
}

const xacts = async (pool: pg.Pool) =>
  Number(
    (
      await pool.query<{ n: string }>(
        'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
      )
    ).rows[0]!.n,
  );

async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * Issue 16 item 1: `waiters` long-polls (`?wait=60s`), or event streams of one file each, on files that
 * stay PROCESSING (no worker runs), a quiet window in which nothing changes (API CPU, Postgres
 * transactions per second), then `finish` of those files are marked READY in one UPDATE, as the
 * workflow's record step would, and the time from that UPDATE to each of their waiters' answers is taken.
 */
export async function measureWaiters(options: {
  client: ReturnType<typeof createIntakeClient>;
  pool: pg.Pool;
  apiUrl: string;
  apiKey: string;
  apiPid: number;
  waiters: number;
  finish: number;
  quietMs: number;
  mode?: WaitersResult['mode'];
  /** Streams opened at once (each next one once one is in); long-polls all open in one burst. */
  openConcurrency?: number;
  log: (line: string) => void;
}): Promise<WaitersResult> {
  const { client, pool, log } = options;
  const mode = options.mode ?? 'long-poll';
  const openConcurrency = options.openConcurrency ?? 32;
  log(`waiters: uploading ${options.waiters} files (no worker runs: they stay PROCESSING)`);
  const ids = await mapConcurrent(Array.from({ length: options.waiters }), 16, async (_, i) => {
    const accepted = await client.uploadFile(Buffer.from(`waiter ${i}\n`), {
      filename: `waiter-${i}.txt`,
      contentType: 'text/plain',
      mode: 'raw',
    });
    return accepted.id;
  });
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const requests: ClientRequest[] = [];
  const answers = new Map<string, { at: number; status: string }>();
  /** Resolves a stream's opening once its first event (the file as it is) is in, or it was refused. */
  const openings = new Map<string, () => void>();
  const open = (id: string) => {
    const path = mode === 'stream' ? `/v1/files/${id}/events` : `/v1/files/${id}?wait=60s`;
    const req = request(
      `${options.apiUrl}${path}`,
      { agent, headers: { Authorization: `Bearer ${options.apiKey}` } },
      (res) => {
        if (mode === 'stream') {
          // A stream answers when its READY event arrives; it starts with the file as it is (PROCESSING).
          let text = '';
          if (res.statusCode !== 200) {
            answers.set(id, { at: performance.now(), status: `HTTP ${res.statusCode}` });
            openings.get(id)?.();
          }
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes('event: file')) openings.get(id)?.();
            if (!answers.has(id) && text.includes('"status":"READY"'))
              answers.set(id, { at: performance.now(), status: 'READY' });
          });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const at = performance.now();
          try {
            answers.set(id, {
              at,
              status: (JSON.parse(Buffer.concat(chunks).toString()) as { status: string }).status,
            });
          } catch {
            answers.set(id, { at, status: `HTTP ${res.statusCode}` });
          }
        });
      },
    );
    req.on('error', () => openings.get(id)?.());
    req.end();
    requests.push(req);
  };
  const openingStarted = performance.now();
  if (mode === 'stream') {
    // Browsers connect over time, not in one burst: 32 streams open at once (BENCH_STREAM_OPEN), each
    // once the last is in.
    await mapConcurrent(
      ids,
      options.openConcurrency ?? 32,
      (id) => new Promise<void>((resolve) => (openings.set(id, resolve), open(id))),
    );
  } else {
    for (const id of ids) open(id);
  }
  const openedInMs = performance.now() - openingStarted;
  // Each waiter's first read asks the workflow too, which no worker answers: that takes up to 3 s.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  if (answers.size > 0) {
    const seen = [...new Set([...answers.values()].map((answer) => answer.status))].join(', ');
    // A 429 here means the tenant's rps limit, which the bench raises unless BENCH_API_ENV sets it.
    throw new Error(`${answers.size} waiters answered before anything changed (${seen})`);
  }

  log(`waiters (${mode}): ${ids.length} waiting; measuring ${options.quietMs / 1000} s of nothing changing`);
  const cpu = cpuByProcess(() => ({ api: options.apiPid }));
  const xactsBefore = await xacts(pool);
  const quietStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, options.quietMs));
  const xactsAfter = await xacts(pool);
  const quietSeconds = (performance.now() - quietStarted) / 1000;
  const apiCpuSeconds = cpu.stop().api ?? 0;
  // The two counter reads are the bench's own transactions.
  const postgresQps = Math.max(0, xactsAfter - xactsBefore - 2) / quietSeconds;

  const finishing = ids.slice(0, options.finish);
  const changedAt = performance.now();
  await pool.query(`UPDATE "File" SET status = 'READY', "completedAt" = now() WHERE id = ANY($1::text[])`, [finishing]);
  const deadline = Date.now() + 30_000;
  while (finishing.some((id) => !answers.has(id)) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const latencies = finishing.flatMap((id) => {
    const answer = answers.get(id);
    return answer ? [answer.at - changedAt] : [];
  });
  const answeredFinal = finishing.filter((id) => answers.get(id)?.status === 'READY').length;
  for (const req of requests) req.destroy();
  agent.destroy();
  // Leave no row PROCESSING behind for the later parts (their workflows are terminated with the stack).
  await pool.query(`UPDATE "File" SET status = 'FAILED', reason = 'bench' WHERE id = ANY($1::text[])`, [
    ids.slice(options.finish),
  ]);
  const result: WaitersResult = {
    mode,
    waiters: ids.length,
    quietSeconds: round(quietSeconds, 1),
    apiCoreShare: round(apiCpuSeconds / quietSeconds, 4),
    postgresQps: round(postgresQps, 1),
    finished: finishing.length,
    answerP50Ms: round(percentile(latencies, 50), 1),
    answerP95Ms: round(percentile(latencies, 95), 1),
    answeredFinal,
    ...(mode === 'stream' && { openConcurrency, openedInMs: Math.round(openedInMs) }),
  };
  log(
    `waiters (${mode}): API ${(result.apiCoreShare * 100).toFixed(2)} % of a core, Postgres ${result.postgresQps} qps; ` +
      `${answeredFinal}/${finishing.length} answered READY, p95 ${result.answerP95Ms} ms`,
  );
  return result;
}

import { request } from 'node:http';

/** Time to the response's first byte (headers) of one GET, in ms; the body is drained. */
export function timeToFirstByte(url: string, apiKey: string): Promise<{ ms: number; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers: { Authorization: `Bearer ${apiKey}` } }, (res) => {
      const ms = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `count` sequential GET /v1/files/{id} round-robin over `ids`; every answer must have `expectStatus`
 * (PROCESSING: answered by the workflow's status query; READY: answered from Postgres).
 */
export async function measureStatusTtfb(options: {
  apiUrl: string;
  apiKey: string;
  ids: readonly string[];
  count: number;
  expectStatus: string;
}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < options.count; i++) {
    const id = options.ids[i % options.ids.length]!;
    const answer = await timeToFirstByte(`${options.apiUrl}/v1/files/${id}`, options.apiKey);
    if (answer.status !== 200) throw new Error(`GET /v1/files/${id} answered ${answer.status}`);
    const status = (JSON.parse(answer.body) as { status: string }).status;
    if (status !== options.expectStatus) throw new Error(`file ${id} was ${status}, expected ${options.expectStatus}`);
    times.push(answer.ms);
  }
  return times;
}

/** Waits until the API (via the status query) shows `step` running for every id. */
export async function waitForStep(options: {
  apiUrl: string;
  apiKey: string;
  ids: readonly string[];
  step: string;
  timeoutMs?: number;
}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    let all = true;
    for (const id of options.ids) {
      const answer = await timeToFirstByte(`${options.apiUrl}/v1/files/${id}`, options.apiKey);
      const view = JSON.parse(answer.body) as { steps?: Record<string, { state: string }> };
      if (view.steps?.[options.step]?.state !== 'running') all = false;
    }
    if (all) return;
    if (Date.now() > deadline) throw new Error(`the uploads did not reach a running ${options.step} step in time`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

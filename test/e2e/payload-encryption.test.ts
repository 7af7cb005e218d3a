import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../common/task-queues';
import { statusQuery } from '../../common/messages';
import { codecSecrets } from '../../lib/codec-secrets';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Personal data in workflow inputs and results (filenames, callback URLs, tags) is encrypted before it
 * reaches Temporal. The proof reads the history the way anyone with access to Temporal's database or
 * API would: raw, through the gRPC service, with no codec. The normal client and the codec endpoint,
 * both holding the key, still see everything.
 */

const { History } = proto.temporal.api.history.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type RawPayload = proto.temporal.api.common.v1.IPayload;

const TENANT = 'codec-e2e';
const API_KEY = 'codec-e2e-key-0001';
// Distinctive, so a hit in the raw bytes can only be a leak.
const FILENAME = 'board-minutes-zq81x.txt';
const TAGS = ['tagzq81xsecret', 'hr-zq81x'];
const CALLBACK_PATH = '/callback-zq81x';

let intake: RunningIntake<typeof TENANT>;
let callbackUrl: string;
let fileId: string;

async function rawHistory(workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await intake.temporal.connection.workflowService.getWorkflowExecutionHistory({
      namespace: intake.config.temporal.namespace,
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/** Search attributes are indexed by the server and no codec sees them (the README says so). */
function withoutSearchAttributes(events: HistoryEvent[]): HistoryEvent[] {
  return events
    .filter((event) => !event.upsertWorkflowSearchAttributesEventAttributes)
    .map((event) => {
      const started = event.workflowExecutionStartedEventAttributes;
      if (!started) return event;
      return { ...event, workflowExecutionStartedEventAttributes: { ...started, searchAttributes: null } };
    });
}

/** The history as the bytes Temporal stores: every payload's data verbatim, nothing decoded. */
const bytesOf = (events: HistoryEvent[]) => Buffer.from(History.encode({ events }).finish()).toString('latin1');

const payloadJson = (payload: RawPayload) => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

beforeAll(async () => {
  intake = await startIntake({ tenants: { [TENANT]: API_KEY } });
  callbackUrl = intake.receiver.url(CALLBACK_PATH);
  const client = intake.clients[TENANT];
  const accepted = await client.uploadFile(Buffer.from('minutes of the board, not for everyone\n'), {
    filename: FILENAME,
    contentType: 'text/plain',
    tags: TAGS,
    callbackUrl,
  });
  fileId = accepted.id;
  const file = await client.waitForFile(fileId, 90_000);
  expect(file.status).toBe('READY');
  // Until the notify step is done the callback URL has been used in activity inputs, the part checked.
  await waitUntil('the callback delivery', async () => {
    const state = await intake.temporal.workflow.getHandle(workflowIdFor(fileId)).query(statusQuery);
    return state.steps.notify.state === 'done' ? state : undefined;
  });
});

afterAll(async () => {
  await intake?.stop();
});

describe('payload encryption', () => {
  it('keeps filename, callback URL and tags out of the raw history, while the normal client reads them', async () => {
    const events = await rawHistory(workflowIdFor(fileId));
    expect(events.length).toBeGreaterThan(5);
    const raw = bytesOf(withoutSearchAttributes(events));
    for (const secret of [FILENAME, 'board-minutes', callbackUrl, CALLBACK_PATH, ...TAGS]) {
      expect(raw.includes(secret), `${secret} in the raw history`).toBe(false);
    }
    expect(raw).toContain('binary/encrypted');
    // Callback URL and tags are not search attributes, so they are nowhere at all.
    const everything = bytesOf(events);
    for (const secret of [CALLBACK_PATH, ...TAGS]) expect(everything.includes(secret), secret).toBe(false);
    // The one documented exception: IntakeFilename, a search attribute, which the server must read.
    expect(everything).toContain(FILENAME);

    const state = await intake.temporal.workflow.getHandle(workflowIdFor(fileId)).query(statusQuery);
    expect(state).toMatchObject({ filename: FILENAME, tags: TAGS, status: 'READY' });
    expect(intake.receiver.received.some((r) => r.path === CALLBACK_PATH)).toBe(true);
  });

  it('the codec endpoint decodes that history for the Web UI, and for nobody without the token', async () => {
    const events = await rawHistory(workflowIdFor(fileId));
    const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(input).toBeDefined();
    const body = JSON.stringify({ payloads: [payloadJson(input!)] });
    const { token } = codecSecrets(intake.config);
    const origin = intake.config.codec.allowedOrigins[0]!;
    const ui = { 'Content-Type': 'application/json', Origin: origin, 'X-Namespace': intake.config.temporal.namespace };

    const decoded = await fetch(`${intake.api.codecUrl}/${token}/decode`, { method: 'POST', headers: ui, body });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(origin);
    const [payload] = ((await decoded.json()) as { payloads: { data: string }[] }).payloads;
    expect(JSON.parse(Buffer.from(payload!.data, 'base64').toString())).toMatchObject({
      fileId,
      filename: FILENAME,
      tags: TAGS,
      callbackUrl,
    });

    const refusals: [string, Record<string, string>, number][] = [
      [`${intake.api.codecUrl}/decode`, ui, 401],
      [`${intake.api.codecUrl}/not-the-token/decode`, ui, 401],
      [`${intake.api.codecUrl}/${token}/decode`, { ...ui, Origin: 'https://attacker.example' }, 403],
    ];
    for (const [url, headers, status] of refusals) {
      const res = await fetch(url, { method: 'POST', headers, body });
      expect(res.status, url.replace(token, '<token>')).toBe(status);
      const text = await res.text();
      expect(text).not.toContain(FILENAME);
      expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String), requestId: expect.any(String) } });
    }
    // The codec does not listen beside the public API.
    const onApi = await fetch(`${intake.api.url}/${token}/decode`, { method: 'POST', headers: ui, body });
    expect(onApi.status).toBe(404);
  });
});

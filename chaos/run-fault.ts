import type { Fault } from './faults';
import {
  makeImages,
  newCounters,
  uploadWithRetries,
  waitForTerminal,
  type ClientCounters,
  type UploadOutcome,
} from './load';
import { API_KEY, TENANT, type ChaosSystem } from './system';

/*
 * One fault's round: a burst of uploads (all in flight within a second or two), the fault injected
 * once half of them are sent, then — after it healed — a bounded wait for every accepted upload to
 * end and for its file.ready webhook. Counted from what the clients saw, Postgres and the receiver.
 */

export interface RoundSettings {
  uploads: number;
  /** Between two uploads of the burst. */
  spacingMs: number;
  /** After the fault healed: how long accepted uploads may take to end, and webhooks to arrive. */
  settleMs: number;
  webhookSettleMs: number;
}

export interface FaultResult {
  fault: string;
  label: string;
  uploads: number;
  accepted: number;
  ready: number;
  /** Accepted but not terminal by the deadline. */
  stuck: number;
  /** Terminal but not READY (FAILED, REJECTED…): none expected for valid images. */
  otherTerminal: number;
  /** Rows beyond one per Idempotency-Key, plus clients told an id that is not their key's row. */
  duplicates: number;
  serverErrorsOther503: number;
  retried503: number;
  networkErrors: number;
  /** READY files whose file.ready event reached the receiver (answered 2xx) at least once. */
  webhooksDelivered: number;
  /** Event ids the receiver accepted more than once (at-least-once; receivers dedupe on webhook-id). */
  webhookRedeliveries: number;
  /** Files that got file.ready under more than one event id: a dedupe on webhook-id would not help. */
  webhookDuplicateEvents: number;
  /** Delivery attempts the receiver failed on purpose. */
  webhookFailedAttempts: number;
  /** Seconds from the heal to the last accepted upload ending. */
  settleSeconds: number;
  unexpectedExits: Record<string, number>;
  /** Uploads whose workflow the API found missing and started (a retry or a read repaired them). */
  lostWorkflowsRestarted: number;
  /** What a reader of results.json needs to chase a duplicate. */
  anomalies: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fiveHundreds(counters: ClientCounters): number {
  return Object.entries(counters.statuses)
    .filter(([status]) => Number(status) >= 500 && Number(status) !== 503)
    .reduce((sum, [, n]) => sum + n, 0);
}

export async function runFault(
  system: ChaosSystem,
  fault: Fault,
  settings: RoundSettings,
  log: (line: string) => void,
): Promise<FaultResult> {
  const prefix = `chaos-${fault.id}-${Date.now().toString(36)}-`;
  const images = await makeImages(settings.uploads);
  const counters = newCounters();
  const exitsBefore = system.unexpectedExits();
  const repairsBefore = system.lostWorkflowsRestarted();
  const receivedBefore = system.receiver.received.length;
  // Generous: clients keep retrying through the outage and the restart that follows it.
  const uploadDeadline = Date.now() + settings.settleMs + 120_000;

  log(`${fault.label}: ${settings.uploads} uploads`);
  const uploads: Promise<UploadOutcome>[] = [];
  let injected: Promise<void> | undefined;
  for (const [i, bytes] of images.entries()) {
    if (i === Math.floor(settings.uploads / 2)) injected = fault.inject(system, log);
    uploads.push(
      uploadWithRetries({
        apiUrl: system.apiUrl,
        apiKey: API_KEY,
        bytes,
        filename: `chaos-${fault.id}-${i}.jpg`,
        key: `${prefix}${i}`,
        deadline: uploadDeadline,
        counters,
      }),
    );
    await sleep(settings.spacingMs);
  }
  await injected;
  const healedAt = Date.now();
  log(`${fault.id}: healed`);
  const outcomes = await Promise.all(uploads);

  const deadline = healedAt + settings.settleMs;
  const finals = await Promise.all(
    outcomes.map((o) =>
      o.fileId
        ? waitForTerminal({ apiUrl: system.apiUrl, apiKey: API_KEY, fileId: o.fileId, deadline, counters })
        : Promise.resolve('NOT_ACCEPTED'),
    ),
  );
  const settleSeconds = Math.round((Date.now() - healedAt) / 100) / 10;

  const rows = await system.db.file.findMany({
    where: { tenantId: TENANT, idempotencyKey: { startsWith: prefix } },
    select: { id: true, idempotencyKey: true, status: true },
  });
  const readyIds = new Set(rows.filter((r) => r.status === 'READY').map((r) => r.id));

  // Webhooks: wait (bounded) until every READY file's file.ready was accepted by the receiver.
  const webhookDeadline = healedAt + settings.webhookSettleMs;
  const deliveries = () =>
    system.receiver.received
      .slice(receivedBefore)
      .filter((w) => w.answeredWith < 300)
      .map((w) => ({
        id: w.headers['webhook-id'] ?? '',
        fileId: (JSON.parse(w.body) as { data: { id: string } }).data.id,
      }))
      .filter((d) => readyIds.has(d.fileId));
  while (new Set(deliveries().map((d) => d.fileId)).size < readyIds.size && Date.now() < webhookDeadline) {
    await sleep(500);
  }
  const delivered = deliveries();
  const perEvent = new Map<string, number>();
  const eventsPerFile = new Map<string, Set<string>>();
  for (const d of delivered) {
    perEvent.set(d.id, (perEvent.get(d.id) ?? 0) + 1);
    eventsPerFile.set(d.fileId, (eventsPerFile.get(d.fileId) ?? new Set()).add(d.id));
  }

  const byKey = new Map(rows.map((r) => [r.idempotencyKey, r.id]));
  const mismatched = outcomes.filter((o) => o.fileId && byKey.get(o.key) !== o.fileId);
  const anomalies = mismatched.map(
    (o) => `${o.key}: the client was told ${o.fileId}, Postgres has ${byKey.get(o.key) ?? 'no row'}`,
  );
  const exitsAfter = system.unexpectedExits();
  const result: FaultResult = {
    fault: fault.id,
    label: fault.label,
    uploads: settings.uploads,
    accepted: outcomes.filter((o) => o.fileId).length,
    ready: readyIds.size,
    stuck: finals.filter(
      (s) => s !== 'NOT_ACCEPTED' && !['READY', 'REJECTED', 'INFECTED', 'FAILED', 'DELETED'].includes(s),
    ).length,
    otherTerminal: finals.filter((s) => ['REJECTED', 'INFECTED', 'FAILED', 'DELETED'].includes(s)).length,
    duplicates: rows.length - byKey.size + mismatched.length,
    serverErrorsOther503: fiveHundreds(counters),
    retried503: counters.statuses[503] ?? 0,
    networkErrors: counters.networkErrors,
    webhooksDelivered: eventsPerFile.size,
    webhookRedeliveries: [...perEvent.values()].filter((n) => n > 1).length,
    webhookDuplicateEvents: [...eventsPerFile.values()].filter((ids) => ids.size > 1).length,
    webhookFailedAttempts: system.receiver.received.slice(receivedBefore).filter((w) => w.answeredWith >= 300).length,
    settleSeconds,
    unexpectedExits: {
      api: exitsAfter.api - exitsBefore.api,
      worker: exitsAfter.worker - exitsBefore.worker,
    },
    lostWorkflowsRestarted: system.lostWorkflowsRestarted() - repairsBefore,
    anomalies,
  };
  log(`${fault.id}: ${JSON.stringify(result)}`);
  return result;
}

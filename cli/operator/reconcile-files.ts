import { isDeepStrictEqual } from 'node:util';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import pLimit from 'p-limit';
import { fileFactsOf } from '../../activities/record-file';
import { indexFile } from '../../activities/index-file';
import type { BatchInput, BatchState, FileState, FileStatus, UploadInput } from '../../common/domain';
import { batchStatusQuery, statusQuery } from '../../common/messages';
import { IntakeTenant } from '../../common/search-attributes';
import { workflowIdFor } from '../../common/task-queues';
import type { Config } from '../../config/env';
import { operatorConfig } from './operator-config';
import { dataConverterFor } from '../../lib/data-converter';
import { objectExists } from '../../lib/s3-objects';
import { createS3Client } from '../../lib/s3-client';
import { storageKeys } from '../../lib/storage-keys';
import { temporalConnectionOptions } from '../../lib/temporal-connection';
import { createDb, type Db, type File } from '../../prisma/db';
import { isUniqueViolation } from '../../prisma/file-records';
import { insertReconciled, mirrorState, recordFoundObjects, type FileFacts } from '../../prisma/files';
import { RELEASED_STATUSES } from '../../prisma/quotas';
import { ensureTenant } from '../../prisma/tenants';
import { insertReconciledBatch, recordBatchDone } from '../../prisma/batches';
import { BATCH_WORKFLOW } from '../../services/accept-batch';
import { UPLOAD_WORKFLOW } from '../../services/accept-upload';

/*
 * `intake reconcile`: after a restore, puts the File table back in step with what the upload workflows
 * know. A backup is a moment; every upload after it still has its workflow in Temporal (running while
 * its retention timer waits, or closed once it deleted the file) and its objects in S3. Reconcile lists
 * those workflows by type and search attribute, reads each one's state (the status query of a running
 * one, the result of a closed one) and:
 *   - creates the rows the backup lacks, with the storage keys found in S3 and the bytes charged to the
 *     tenant (and the tenant itself if the backup predates it);
 *   - updates rows the backup has at an older stage than the workflow (PROCESSING in the backup, READY
 *     now; READY in the backup, deleted since), since the workflow's state is what governs the file;
 *   - leaves every other row as it is, so a second run changes nothing.
 * A row is never moved back: a tombstone stays a tombstone, and an outcome is not overwritten by the
 * PROCESSING state a workflow reports between recording its outcome and adopting it.
 * Batches go first, the same way from their own workflows, so the files rebuilt after them can point
 * at their batch again.
 */

export interface ReconcileDeps {
  config: Config;
  temporal: Client;
  db: Db;
  s3: S3Client;
}

export interface ReconcileOptions {
  /** Only these tenants' workflows (IntakeTenant); all tenants when absent. */
  tenants?: readonly string[];
  /** Only workflows still running or closed at or after this instant (e.g. the backup's start). */
  since?: Date;
  /** Workflows read and rows written at once. */
  concurrency?: number;
}

export interface ReconcileReport {
  /** Upload workflows listed (running, or completed within the namespace's retention). */
  found: number;
  /** Rows the database lacked, written from the workflow and S3. */
  created: number;
  /** Rows brought forward to the workflow's state. */
  updated: number;
  /** Rows already in step with their workflow (or ahead of a state in passing). */
  unchanged: number;
  /** Batch workflows listed, Batch rows the database lacked and wrote back, and rows brought to DONE. */
  batches: { found: number; created: number; completed: number; unchanged: number };
  /** Workflows whose state could not be read (the query or result failed), with the reason. */
  unreadable: { workflowId: string; error: string }[];
  /** Tenants the database lacked and reconcile created (their API keys are not in the backup). */
  tenantsCreated: string[];
  /** Files with objects under files/ but neither a row nor a workflow: left alone, for the operator. */
  objectsWithoutFile: string[];
  durationMs: number;
}

/** Where a status stands in a file's life: a row is only ever moved forward. */
const stage = (status: string): number => (status === 'PROCESSING' ? 0 : status === 'DELETED' ? 2 : 1);

const HOLDS_BYTES = (status: string) => !(RELEASED_STATUSES as readonly string[]).includes(status);

/** Tenant ids are validated (lowercase letters, digits, - and _), so they can stand in a query literally. */
export function listQuery(
  options: Pick<ReconcileOptions, 'tenants' | 'since'>,
  workflowType: string = UPLOAD_WORKFLOW,
): string {
  const clauses = [`WorkflowType = '${workflowType}'`];
  if (options.since) {
    clauses.push(
      `(ExecutionStatus = 'Running' OR (ExecutionStatus = 'Completed' AND CloseTime >= '${options.since.toISOString()}'))`,
    );
  } else {
    clauses.push(`(ExecutionStatus = 'Running' OR ExecutionStatus = 'Completed')`);
  }
  if (options.tenants?.length) {
    clauses.push(`(${options.tenants.map((t) => `${IntakeTenant.name} = '${t}'`).join(' OR ')})`);
  }
  return clauses.join(' AND ');
}

export async function reconcileFiles(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const started = Date.now();
  const report: ReconcileReport = {
    found: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    batches: { found: 0, created: 0, completed: 0, unchanged: 0 },
    unreadable: [],
    tenantsCreated: [],
    objectsWithoutFile: [],
    durationMs: 0,
  };
  const limit = pLimit(options.concurrency ?? 16);
  const knownTenants = new Map<string, Promise<void>>();
  const ensureTenantOnce = (tenantId: string) => {
    let done = knownTenants.get(tenantId);
    if (!done) {
      done = (async () => {
        const existing = await deps.db.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
        if (existing) return;
        await ensureTenant(deps.db, tenantId);
        report.tenantsCreated.push(tenantId);
      })();
      knownTenants.set(tenantId, done);
    }
    return done;
  };
  await reconcileBatches(deps, options, report, limit, ensureTenantOnce);
  const workflowFiles = new Set<string>();

  const page: WorkflowExecutionInfo[] = [];
  const flush = async () => {
    const executions = page.splice(0);
    const ids = executions.map((execution) => fileIdOf(execution.workflowId));
    const rows = new Map(
      (await deps.db.file.findMany({ where: { id: { in: ids } }, omit: { bodyText: true } })).map((row) => [
        row.id,
        row,
      ]),
    );
    await Promise.all(
      executions.map((execution) =>
        limit(async () => {
          let state: FileState;
          try {
            state = await stateOf(deps.temporal, execution);
          } catch (error) {
            report.unreadable.push({ workflowId: execution.workflowId, error: (error as Error).message });
            return;
          }
          const row = rows.get(state.fileId);
          if (!row) {
            await ensureTenantOnce(state.tenantId);
            report[await createRow(deps, execution, state)]++;
          } else {
            report[await bringForward(deps, row, state)]++;
          }
        }),
      ),
    );
  };
  for await (const execution of deps.temporal.workflow.list({ query: listQuery(options) })) {
    report.found++;
    workflowFiles.add(fileIdOf(execution.workflowId));
    page.push(execution);
    if (page.length >= 500) await flush();
  }
  await flush();

  report.objectsWithoutFile = await objectsWithoutFile(deps, workflowFiles, options.tenants);
  report.tenantsCreated.sort();
  report.durationMs = Date.now() - started;
  return report;
}

const fileIdOf = (workflowId: string) => workflowId.replace(/^upload-/, '');

/**
 * Batch rows from the batch workflows: a missing row is written back (its status, file count and, once
 * done, its counts), a PROCESSING row whose workflow has completed is brought to DONE. The idempotency
 * key is not in the workflow, so a batch made after the backup is not found by it again.
 */
async function reconcileBatches(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  report: ReconcileReport,
  limit: ReturnType<typeof pLimit>,
  ensureTenantOnce: (tenantId: string) => Promise<void>,
): Promise<void> {
  const work: Promise<void>[] = [];
  for await (const execution of deps.temporal.workflow.list({ query: listQuery(options, BATCH_WORKFLOW) })) {
    report.batches.found++;
    work.push(
      limit(async () => {
        let state: BatchState;
        let input: BatchInput | undefined;
        try {
          state =
            execution.status.name === 'RUNNING'
              ? await deps.temporal.workflow.getHandle(execution.workflowId).query(batchStatusQuery)
              : ((await deps.temporal.workflow
                  .getHandle(execution.workflowId, execution.runId)
                  .result()) as BatchState);
          input = await firstArgumentOf<BatchInput>(deps.temporal, execution);
        } catch (error) {
          report.unreadable.push({ workflowId: execution.workflowId, error: (error as Error).message });
          return;
        }
        const done = state.status === 'DONE';
        const fileCount = state.expected ?? (done ? state.members.length : null);
        const completedAt = state.completedAt ? new Date(state.completedAt) : null;
        const row = await deps.db.batch.findUnique({ where: { id: state.batchId }, select: { status: true } });
        if (!row) {
          await ensureTenantOnce(state.tenantId);
          const created = await insertReconciledBatch(deps.db, {
            id: state.batchId,
            tenantId: state.tenantId,
            status: state.status,
            fileCount,
            counts: done ? state.counts : null,
            // A continued run's input is the first run's, so the batch keeps the time it was made.
            createdAt: new Date(input?.createdAt ?? execution.startTime),
            completedAt,
          });
          report.batches[created ? 'created' : 'unchanged']++;
        } else if (row.status === 'PROCESSING' && done && completedAt) {
          await recordBatchDone(deps.db, state.batchId, {
            counts: state.counts,
            fileCount: fileCount ?? 0,
            completedAt,
          });
          report.batches.completed++;
        } else {
          report.batches.unchanged++;
        }
      }),
    );
  }
  await Promise.all(work);
}

/** A running workflow answers the status query; a completed one returned its final state. */
async function stateOf(temporal: Client, execution: WorkflowExecutionInfo): Promise<FileState> {
  // A running one is asked at its current run: it may have continued as new since it was listed.
  if (execution.status.name === 'RUNNING') return temporal.workflow.getHandle(execution.workflowId).query(statusQuery);
  return (await temporal.workflow.getHandle(execution.workflowId, execution.runId).result()) as FileState;
}

/** The upload's input, the first argument of this run's start event: what the row keeps besides the state. */
const inputOf = (temporal: Client, execution: WorkflowExecutionInfo) =>
  firstArgumentOf<UploadInput>(temporal, execution);

async function firstArgumentOf<T>(temporal: Client, execution: WorkflowExecutionInfo): Promise<T | undefined> {
  const response = await temporal.workflowService.getWorkflowExecutionHistory({
    namespace: temporal.options.namespace,
    execution: { workflowId: execution.workflowId, runId: execution.runId },
    maximumPageSize: 1,
  });
  const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const [input] = await decodeArrayFromPayloads(temporal.options.loadedDataConverter, started?.input?.payloads);
  return input as T | undefined;
}

type Outcome = 'created' | 'updated' | 'unchanged';

async function createRow(deps: ReconcileDeps, execution: WorkflowExecutionInfo, state: FileState): Promise<Outcome> {
  const { db, s3, config } = deps;
  const bucket = config.s3.bucket;
  const input = await inputOf(deps.temporal, execution);
  const facts = fileFactsOf(state);
  const live = state.status !== ('DELETED' satisfies FileStatus);
  const original = storageKeys.original(state.tenantId, state.fileId);
  const quarantine = storageKeys.quarantine(state.tenantId, state.fileId);
  const [stored, quarantined] = await Promise.all([
    live ? objectExists(s3, bucket, original) : false,
    state.status === ('INFECTED' satisfies FileStatus) ? objectExists(s3, bucket, quarantine) : false,
  ]);
  // Batches were reconciled first; one whose workflow is gone has no row, and the file is kept outside it.
  const batchId =
    input?.batchId && (await db.batch.findUnique({ where: { id: input.batchId }, select: { id: true } }))
      ? input.batchId
      : null;
  try {
    await insertReconciled(db, {
      id: state.fileId,
      tenantId: state.tenantId,
      workflowId: workflowIdFor(state.fileId),
      createdAt: new Date(state.createdAt),
      ...facts,
      declaredContentType: input?.declaredContentType ?? null,
      callbackUrl: input?.callbackUrl ?? null,
      retentionMs: input === undefined ? null : BigInt(input.retentionMs),
      batchId,
      storageKey: stored ? original : null,
      quarantineKey: quarantined ? quarantine : null,
      chargedBytes: HOLDS_BYTES(state.status) ? BigInt(state.size) : null,
    });
  } catch (error) {
    // The workflow recorded the row while reconcile was reading it: the workflow's write stands.
    if (isUniqueViolation(error)) return 'unchanged';
    throw error;
  }
  if (state.status === ('READY' satisfies FileStatus))
    await indexFile(deps, { fileId: state.fileId, tenantId: state.tenantId });
  return 'created';
}

async function bringForward(deps: ReconcileDeps, row: Omit<File, 'bodyText'>, state: FileState): Promise<Outcome> {
  const facts = fileFactsOf(state);
  if (stage(state.status) < stage(row.status) || row.status === ('DELETED' satisfies FileStatus)) return 'unchanged';
  const missingKeys = await foundObjects(deps, row, state);
  if (sameFacts(row, facts) && Object.keys(missingKeys).length === 0) return 'unchanged';
  await mirrorState(deps.db, { id: row.id, tenantId: row.tenantId, createdAt: row.createdAt }, facts);
  if (Object.keys(missingKeys).length > 0) await recordFoundObjects(deps.db, row.id, missingKeys);
  if (state.status === ('READY' satisfies FileStatus) && row.status !== state.status) {
    await indexFile(deps, { fileId: row.id, tenantId: row.tenantId });
  }
  return 'updated';
}

/** The objects a live row should point at but does not (its store step ran after the backup). */
async function foundObjects(
  { s3, config }: ReconcileDeps,
  row: Omit<File, 'bodyText'>,
  state: FileState,
): Promise<{ storageKey?: string; quarantineKey?: string }> {
  const found: { storageKey?: string; quarantineKey?: string } = {};
  if (state.status === 'DELETED') return found;
  const original = storageKeys.original(row.tenantId, row.id);
  if (row.storageKey === null && (await objectExists(s3, config.s3.bucket, original))) found.storageKey = original;
  const quarantine = storageKeys.quarantine(row.tenantId, row.id);
  if (
    state.status === 'INFECTED' &&
    row.quarantineKey === null &&
    (await objectExists(s3, config.s3.bucket, quarantine))
  ) {
    found.quarantineKey = quarantine;
  }
  return found;
}

/** Whether the row already holds every fact the state fixes (Json columns compared by value, not key order). */
function sameFacts(row: Omit<File, 'bodyText'>, facts: FileFacts): boolean {
  return Object.entries(facts).every(([column, value]) => {
    if (value === undefined) return true;
    const current = (row as Record<string, unknown>)[column];
    if (value instanceof Date || current instanceof Date) {
      return value instanceof Date && current instanceof Date
        ? value.getTime() === current.getTime()
        : value === current;
    }
    return isDeepStrictEqual(current, value);
  });
}

/**
 * File ids with objects under files/ that neither a row nor a listed workflow accounts for: their
 * workflow is gone (past Temporal's retention, or Temporal's own data was lost), so nothing says what
 * they are. Listed, never deleted.
 */
async function objectsWithoutFile(
  { s3, config, db }: ReconcileDeps,
  workflowFiles: ReadonlySet<string>,
  tenants: readonly string[] | undefined,
): Promise<string[]> {
  const prefixes = tenants?.length ? tenants.map((t) => `files/${t}/`) : ['files/'];
  const candidates = new Map<string, string>();
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of listed.Contents ?? []) {
        const match = /^files\/([^/]+)\/([^/]+)\//.exec(object.Key ?? '');
        if (match?.[2] && !workflowFiles.has(match[2])) candidates.set(match[2], `files/${match[1]}/${match[2]}/`);
      }
      token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
    } while (token);
  }
  const ids = [...candidates.keys()];
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 5_000) {
    const rows = await db.file.findMany({ where: { id: { in: ids.slice(i, i + 5_000) } }, select: { id: true } });
    for (const row of rows) known.add(row.id);
  }
  return ids
    .filter((id) => !known.has(id))
    .map((id) => candidates.get(id) ?? id)
    .sort();
}

/** `intake reconcile`, on the services DATABASE_URL, S3_* and TEMPORAL_* name. */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const settings = operatorConfig();
  const connection = await Connection.connect(temporalConnectionOptions(settings.temporal));
  const db = createDb(settings.databaseUrl, { poolSize: Math.min(8, options.concurrency ?? 16) });
  const s3 = createS3Client(settings.s3);
  try {
    const temporal = new Client({
      connection,
      namespace: settings.temporal.namespace,
      dataConverter: dataConverterFor(settings),
    });
    return await reconcileFiles({ config: settings, temporal, db, s3 }, options);
  } finally {
    s3.destroy();
    await db.$disconnect();
    await connection.close();
  }
}

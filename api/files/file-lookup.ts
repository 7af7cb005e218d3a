import { WorkflowNotFoundError } from '@temporalio/client';
import type { Context } from 'hono';
import type { FileState } from '../../common/domain';
import { statusQuery } from '../../common/messages';
import { storageKeys } from '../../lib/storage-keys';
import { findTenantFile, type FileRecord } from '../../prisma/file-records';
import { restartIfLost } from '../../services/accept-upload';
import { withDb, withTemporal } from '../dependencies';
import { ApiError } from '../errors';
import { toFileView, type FileView } from '../file-view';
import type { AppEnv } from '../types';

/** A status query needs a worker; without one the file is still described from Postgres. */
export const QUERY_TIMEOUT_MS = 3_000;

/** The tenant's file by id (404 for a missing file and another tenant's alike); the log learns its ids. */
export async function loadFile(c: Context<AppEnv>, id: string): Promise<FileRecord> {
  const row = await withDb(c, (db) => findTenantFile(db, c.var.tenantId, id));
  if (!row) throw new ApiError('file_not_found', `No file ${id}`);
  c.set('log', c.var.log.child({ fileId: row.id, workflowId: row.workflowId }));
  return row;
}

/** The workflow's live state, or null when no worker answers within `timeoutMs`. */
export async function queryWorkflowState(
  c: Context<AppEnv>,
  row: FileRecord,
  timeoutMs: number,
): Promise<FileState | null> {
  try {
    return await withTemporal(c, (client) => client.workflow.getHandle(row.workflowId).query(statusQuery), timeoutMs);
  } catch (error) {
    c.var.log.debug({ err: error }, 'status query failed; answering from Postgres');
    if (error instanceof WorkflowNotFoundError) await repairLostWorkflow(c, row);
    return null;
  }
}

/**
 * A PROCESSING row whose workflow Temporal does not know: the API died between inserting the row and
 * starting the workflow. The read that notices starts it (issue 10: repaired on its next read, not by
 * the hourly sweeper). Best effort: the read still answers from Postgres if the repair cannot run now.
 */
async function repairLostWorkflow(c: Context<AppEnv>, row: FileRecord): Promise<void> {
  try {
    await restartIfLost(
      {
        config: c.var.config,
        s3: c.var.s3,
        log: c.var.log,
        withTemporal: (fn) => withTemporal(c, fn),
      },
      row,
      'a file read while processing',
    );
  } catch (error) {
    c.var.log.warn({ err: error }, 'could not restart the lost workflow; the next read or the sweeper will');
  }
}

/**
 * While the file is processing the workflow knows more than Postgres; ask it, but never depend on it.
 * `queryTimeoutMs` bounds the query (a long-poll passes what is left of its wait); at 0 it is skipped.
 */
export async function describeFile(
  c: Context<AppEnv>,
  row: FileRecord,
  queryTimeoutMs = QUERY_TIMEOUT_MS,
): Promise<FileView> {
  const live = row.status === 'PROCESSING' && queryTimeoutMs > 0;
  const state = live ? await queryWorkflowState(c, row, queryTimeoutMs) : null;
  // The validate step writes validationErrors to the row before the state says REJECTED: a row read
  // before then lacks them.
  const stale = state?.status === 'REJECTED' && row.schemaName !== null && row.validationErrors === null;
  return toFileView(c.var.config, stale ? await loadFile(c, row.id) : row, state);
}

/**
 * A legal hold blocks deletion. The workflow's state is asked first: a hold set a moment ago is
 * there before its Postgres row catches up. Without an answer, the row decides.
 */
export async function isOnHold(c: Context<AppEnv>, row: FileRecord): Promise<boolean> {
  return (await queryWorkflowState(c, row, QUERY_TIMEOUT_MS))?.hold ?? row.hold;
}

/** Only files that passed the scan and validation are ever served. */
export function assertServable(row: FileRecord): void {
  switch (row.status) {
    case 'READY':
      return;
    case 'PROCESSING':
      throw new ApiError('file_processing', 'The file is still being processed; try again when it is READY');
    case 'INFECTED':
      throw new ApiError('file_infected', `The file is quarantined: ${row.reason ?? 'malware detected'}`);
    case 'REJECTED':
      throw new ApiError('file_rejected', `The file was rejected: ${row.reason ?? 'invalid content'}`);
    case 'FAILED':
      throw new ApiError('file_failed', `Processing failed: ${row.reason ?? 'unknown error'}`);
    case 'DELETED':
      throw new ApiError('file_deleted', `The file was deleted (${row.deletionReason ?? row.reason ?? 'deleted'})`);
    default:
      throw new ApiError('file_unavailable', 'The file cannot be served');
  }
}

/** Where a READY file's original lives: its row says, unless the row still points at the incoming area. */
export function originalKeyOf(row: FileRecord): string {
  return row.storageKey && !row.storageKey.startsWith('incoming/')
    ? row.storageKey
    : storageKeys.original(row.tenantId, row.id);
}

/** A rendition's download name: the original's stem, the rendition's name and its format. */
export function renditionFilename(filename: string, name: string, format: string): string {
  return `${filename.replace(/\.[^.]{1,10}$/, '')}-${name}.${format}`;
}

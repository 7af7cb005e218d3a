import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/env';
import { GENERAL_TASK_QUEUE, workflowIdFor } from '../common/task-queues';
import type { uploadWorkflow } from '../workflows';
import type { UploadInput } from '../common/domain';
import { IntakeFilename, IntakeHold, IntakeStatus, IntakeTenant } from '../common/search-attributes';

/** The workflow runs on the worker; starters need only its type and start it by name. */
export const UPLOAD_WORKFLOW = 'uploadWorkflow';

/** What is known about an upload once its bytes sit in the incoming area and its File row exists. */
export interface AcceptedUpload {
  fileId: string;
  tenantId: string;
  filename: string;
  declaredContentType: string | null;
  size: number;
  incomingKey: string;
  tags: string[];
  callbackUrl: string | null;
  retentionMs: number;
  createdAt: Date;
}

/**
 * The upload workflow's input. The API builds it for a new upload and the sweeper for an upload whose
 * workflow never started, so both starts look the same to the workflow.
 */
export function buildUploadInput(config: Pick<Config, 'retention'>, upload: AcceptedUpload): UploadInput {
  return {
    fileId: upload.fileId,
    tenantId: upload.tenantId,
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    size: upload.size,
    incomingKey: upload.incomingKey,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: upload.retentionMs,
    retentionMinMs: config.retention.minMs,
    retentionMaxMs: config.retention.maxMs,
    createdAt: upload.createdAt.toISOString(),
  };
}

/**
 * Starts the upload's workflow under its deterministic id, so a second start (a retried request, the
 * sweeper racing the API) fails with WorkflowExecutionAlreadyStartedError instead of duplicating work.
 */
export function startUploadWorkflow(
  client: Client,
  input: UploadInput,
): Promise<WorkflowHandle<typeof uploadWorkflow>> {
  return client.workflow.start<typeof uploadWorkflow>(UPLOAD_WORKFLOW, {
    workflowId: workflowIdFor(input.fileId),
    taskQueue: GENERAL_TASK_QUEUE,
    args: [input],
    typedSearchAttributes: [
      { key: IntakeStatus, value: 'PROCESSING' },
      { key: IntakeTenant, value: input.tenantId },
      { key: IntakeFilename, value: input.filename },
      { key: IntakeHold, value: false },
    ],
  });
}

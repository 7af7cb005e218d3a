/** The domain types the workflow, the activities and the API share. No runtime imports: workflow-safe. */

export const FILE_STATUSES = ['PROCESSING', 'READY', 'REJECTED', 'INFECTED', 'FAILED', 'DELETED'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** The one document type with steps of its own (page count, body text, a first-page thumb). */
export const PDF_CONTENT_TYPE = 'application/pdf';

export const STEP_NAMES = ['scan', 'validate', 'resize', 'store', 'index', 'notify'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepStatus {
  state: StepState;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface Rendition {
  name: string;
  key: string;
  format: 'webp' | 'avif';
  width: number;
  height: number;
  size: number;
  /** Frames in the rendition; absent on renditions made before animation was kept (one frame). */
  frames?: number;
  /** Set when the original is animated but this rendition is its first frame only, and why. */
  firstFrameOnly?: string;
}

export type DeletionReason = 'expired' | 'requested';

export type FileEvent = 'file.ready' | 'file.rejected' | 'file.infected' | 'file.failed' | 'file.deleted';
export type WebhookEvent = FileEvent | 'batch.completed';
export const WEBHOOK_EVENTS: readonly WebhookEvent[] = [
  'file.ready',
  'file.rejected',
  'file.infected',
  'file.failed',
  'file.deleted',
  'batch.completed',
];

/**
 * What the client of a direct upload (POST /v1/uploads) declared before its bytes went straight to S3.
 * Nothing checked it on the way in, so the validate step compares it with what the scan measured.
 */
export interface DeclaredFacts {
  size: number;
  /** Lowercase hex; null when the client gave none. */
  sha256: string | null;
}

/** The statuses a file ends in: every one but PROCESSING. A batch is DONE when each member has one. */
export type TerminalStatus = Exclude<FileStatus, 'PROCESSING'>;

export const BATCH_STATUSES = ['PROCESSING', 'DONE'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Files of a batch per status. */
export type BatchCounts = Record<FileStatus, number>;

export function emptyBatchCounts(): BatchCounts {
  return Object.fromEntries(FILE_STATUSES.map((status) => [status, 0])) as BatchCounts;
}

/** What starts a batch's workflow; the members arrive by signal (common/messages.ts). */
export interface BatchInput {
  batchId: string;
  tenantId: string;
  /** The batch's callback URL (the one its files carry), told of batch.completed too. */
  callbackUrl: string | null;
  createdAt: string;
}

/** What batch.completed tells: the batch's final counts. */
export interface BatchCompletion {
  batchId: string;
  tenantId: string;
  fileCount: number;
  counts: BatchCounts;
  createdAt: string;
  completedAt: string;
}

/** What a batch's workflow knows; carried across continue-as-new. */
export interface BatchState {
  batchId: string;
  tenantId: string;
  status: BatchStatus;
  /** How many files the batch has; null until a producer says (a Kafka batch's end marker). */
  expected: number | null;
  /** Members announced (Kafka: as their messages arrive); HTTP batches are announced by `expected`. */
  members: string[];
  /** Each member's terminal status, by file id. */
  outcomes: Record<string, TerminalStatus>;
  counts: BatchCounts;
  completedAt: string | null;
}

/** What the API hands the workflow when an upload has landed in the incoming area. */
export interface UploadInput {
  fileId: string;
  tenantId: string;
  filename: string;
  declaredContentType: string | null;
  size: number;
  incomingKey: string;
  tags: string[];
  callbackUrl: string | null;
  /** Retention period in ms, counted from the moment the upload reaches its outcome. */
  retentionMs: number;
  /**
   * Bounds a retention change must respect (INTAKE_RETENTION_MIN/MAX at start time). Carried in the
   * input because workflow code cannot read config; optional so older starts stay valid (defaults:
   * 1 minute .. 365 days, the config defaults).
   */
  retentionMinMs?: number;
  retentionMaxMs?: number;
  /**
   * How long an INFECTED file's quarantined copy is kept (INTAKE_QUARANTINE_RETENTION), instead of
   * `retentionMs`. Optional: inputs of workflows started before it keep `retentionMs`.
   */
  quarantineRetentionMs?: number;
  /** A direct upload's declared size and checksum; absent for uploads that streamed through the API. */
  declared?: DeclaredFacts;
  createdAt: string;
  /** The batch this file belongs to: its workflow is told of the file's terminal status. */
  batchId?: string;
  /**
   * Why the file was refused on arrival (a batch part that was empty or too large): the workflow
   * records it REJECTED without running a step, so it still counts in its batch.
   */
  refusal?: string;
}

/** The workflow's whole state: what the status query returns and what continue-as-new carries. */
export interface FileState {
  fileId: string;
  tenantId: string;
  filename: string;
  status: FileStatus;
  reason: string | null;
  contentType: string | null;
  size: number;
  sha256: string | null;
  width: number | null;
  height: number | null;
  renditions: Rendition[];
  tags: string[];
  steps: Record<StepName, StepStatus>;
  createdAt: string;
  completedAt: string | null;
  expiresAt: string | null;
  hold: boolean;
  /** A duty the workflow keeps failing at (deleting, recording), for an operator; absent or null when none. */
  attention?: string | null;
  /** Delete requests the workflow refused because of the hold (absent in workflows started before). */
  refusedDeletes?: number;
  deletedAt: string | null;
  deletionReason: DeletionReason | null;
}

export interface RetentionChange {
  expiresAt?: string;
  extendByMs?: number;
  hold?: boolean;
}

export interface RetentionState {
  expiresAt: string | null;
  hold: boolean;
}

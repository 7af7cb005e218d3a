import type {
  BatchCompletion,
  DeclaredFacts,
  DeletionReason,
  FileEvent,
  FileState,
  Rendition,
  UploadInput,
  WebhookEvent,
} from '../common/domain';

/**
 * The activity contract between the workflow (which imports only these types) and
 * createActivities (which implements them). Inputs carry ids and S3 keys, never file bytes.
 */

// Failure types and their details live in common/failures.ts, which the workflow may import.

export interface ScanInput {
  fileId: string;
  tenantId: string;
  key: string;
}
/** Clean result; an infected file throws ApplicationFailure(type Infected, details [InfectedDetails]). */
export interface ScanResult {
  sha256: string;
  size: number;
}

export interface ValidateInput {
  fileId: string;
  key: string;
  size: number;
  declaredContentType: string | null;
  /** The scan's sha256, given with `declared`: a direct upload's declaration is checked against both. */
  sha256?: string;
  declared?: DeclaredFacts;
}
/** Valid result; an invalid file throws ApplicationFailure(type Rejected) whose message is the reason. */
export interface ValidateResult {
  contentType: string;
  isImage: boolean;
  width: number | null;
  height: number | null;
  /** A PDF's page count and whether it is encrypted; absent for other types and in older histories. */
  pages?: number;
  encrypted?: boolean;
}

export interface RenditionsInput {
  fileId: string;
  tenantId: string;
  key: string;
  /**
   * The validated type when it is not an image: `application/pdf` gets the thumb of its first page.
   * Absent for images, which are told apart from their bytes, and in older histories.
   */
  contentType?: string;
}

export interface StoreInput {
  upload: UploadInput;
  scan: ScanResult;
  validation: ValidateResult;
  renditions: Rendition[];
}
export interface StoreResult {
  key: string;
}

export interface IndexInput {
  fileId: string;
  tenantId: string;
}

export interface WebhookTarget {
  /** null for an upload's own callbackUrl. */
  endpointId: string | null;
  url: string;
}
export interface PlanNotificationsInput {
  tenantId: string;
  fileId: string;
  event: WebhookEvent;
  callbackUrl: string | null;
}
/** One event Intake tells of: a file's (with the file's state) or a batch's (with its counts). */
export type IntakeEvent = {
  /** Stable across retries: derived from the workflow, one per event (the webhook-id). */
  messageId: string;
  tenantId: string;
  /** What the event is about: the file's id, or the batch's for batch.completed. */
  fileId: string;
} & ({ event: FileEvent; file: FileState } | { event: 'batch.completed'; batch: BatchCompletion });

/** One event to one webhook target. */
export type DeliverWebhookInput = IntakeEvent & { target: WebhookTarget };

/** One event to the events topic; `occurredAt` (ISO) is the body's timestamp, the same on every retry. */
export interface PublishEventInput {
  event: IntakeEvent;
  occurredAt: string;
}
export interface DeliverWebhookResult {
  statusCode: number;
}

export interface RecordBatchDoneInput {
  completion: BatchCompletion;
}

export interface RemoveRenditionsInput {
  keys: string[];
}

export interface DeleteArtifactsInput {
  fileId: string;
  tenantId: string;
  reason: DeletionReason;
}

export interface IntakeActivities {
  scanFile(input: ScanInput): Promise<ScanResult>;
  validateFile(input: ValidateInput): Promise<ValidateResult>;
  makeRenditions(input: RenditionsInput): Promise<Rendition[]>;
  storeFile(input: StoreInput): Promise<StoreResult>;
  indexFile(input: IndexInput): Promise<void>;
  /** Upserts the file's row from the workflow's state (status, reason, steps, retention). */
  recordFile(state: FileState): Promise<void>;
  planNotifications(input: PlanNotificationsInput): Promise<WebhookTarget[]>;
  deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult>;
  removeRenditions(input: RemoveRenditionsInput): Promise<void>;
  deleteArtifacts(input: DeleteArtifactsInput): Promise<void>;
  /** Publishes an event to the events topic (at least once: consumers de-duplicate on its id). */
  publishEvent(input: PublishEventInput): Promise<void>;
  /** Marks the batch DONE with its final counts (once: a repeat changes nothing). */
  recordBatchDone(input: RecordBatchDoneInput): Promise<void>;
}

/**
 * The sweeper's contract (createSweeperActivities, run by sweepOrphansWorkflow). Each activity handles
 * one page and returns an opaque cursor for the next (null when done); every action is idempotent,
 * so a retried page or an overlapping sweep repeats nothing harmful.
 */
export interface SweepPageInput {
  /** ISO time: only things older than this are touched (the sweep's start minus the grace period). */
  olderThan: string;
  pageSize: number;
  /** The previous page's nextCursor; null for the first page. */
  cursor: string | null;
}
export interface SweepCounts {
  /** incoming/ objects whose File row never existed (the client never got a 202): deleted. */
  orphanObjectsDeleted: number;
  /** PROCESSING uploads with their bytes but no workflow: their workflow was started. */
  uploadsRestarted: number;
  /** PROCESSING uploads with neither bytes nor workflow: marked FAILED. */
  uploadsFailed: number;
  /** Incomplete S3 multipart uploads under incoming/: aborted. */
  multipartUploadsAborted: number;
  /** Direct uploads never completed before their expiry: their object or multipart upload removed. */
  directUploadsExpired: number;
}
export interface SweepPageResult {
  counts: Partial<SweepCounts>;
  nextCursor: string | null;
}

export interface SweeperActivities {
  deleteOrphanedIncomingObjects(input: SweepPageInput): Promise<SweepPageResult>;
  recoverStalledUploads(input: SweepPageInput): Promise<SweepPageResult>;
  abortStaleMultipartUploads(input: SweepPageInput): Promise<SweepPageResult>;
  expireAbandonedDirectUploads(input: SweepPageInput): Promise<SweepPageResult>;
}

/** A verified database backup (createBackupActivities, run by backupDatabaseWorkflow). */
export interface BackupRecord {
  id: string;
  /** Its S3 key, under backups/. */
  key: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
  postgresVersion: string;
  /** Entries pg_restore --list read from the archive. */
  tocEntries: number;
}

export interface BackupActivities {
  /** pg_dump to S3, verified with pg_restore --list; the same id again overwrites (a retry). */
  backupDatabase(input: { backupId: string }): Promise<BackupRecord>;
  markBackupFailed(input: { backupId: string; error: string }): Promise<void>;
  /** Deletes completed backups past the newest `keep` (default INTAKE_BACKUP_KEEP). */
  pruneBackups(input: { keep?: number }): Promise<{ pruned: string[] }>;
}

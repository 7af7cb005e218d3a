import { ApplicationFailure } from '@temporalio/common';

/**
 * Every ApplicationFailure type Intake throws, and a constructor for each. Activities throw them; the
 * workflow's retry policies (`nonRetryableErrorTypes`) and its outcome mapping match on these names,
 * so a type is spelt in one place only. All are non-retryable: retrying cannot change a verdict, a
 * missing object or a constraint violation. Infrastructure failures are plain errors, left to Temporal
 * to retry, and have no type here.
 *
 * Workflow-safe: the workflow bundle imports this module, so nothing here may do I/O or reach Node.
 */
export const FailureTypes = {
  /** The scanner found malware; the file is quarantined. Details: [InfectedDetails]. Ends INFECTED. */
  Infected: 'Infected',
  /** The file is not acceptable (type, size, content); the message is the reason shown. Ends REJECTED. */
  Rejected: 'Rejected',
  /**
   * A PDF's first page could not be rendered to its thumbnail; the message says why. Not a verdict on
   * the file: it ends READY without a thumb, the resize step skipped with this message.
   */
  NoThumbnail: 'NoThumbnail',
  /** The upload's bytes are neither in the incoming area nor in storage. */
  ObjectMissing: 'ObjectMissing',
  /** A step that needs the file's database row found none. */
  FileRowMissing: 'FileRowMissing',
  /** A database error retrying cannot fix (constraint violation, bad data); classified in activities/. */
  DatabaseError: 'DatabaseError',
  /** A webhook target that must never be called (a private address). */
  WebhookRefused: 'WebhookRefused',
  /** The endpoint answered a permanent 4xx; 410 Gone also disables a registered endpoint. Not retried. */
  WebhookRejected: 'WebhookRejected',
  /** The endpoint asked to be tried later (408, 429 or 5xx with Retry-After); retried after that. */
  WebhookUnavailable: 'WebhookUnavailable',
  /** A workflow refused a change because too many came in a short time. Details: [{ retryAfterMs }]. */
  RateLimited: 'RateLimited',
  /** pg_dump or pg_restore is missing or refuses the server (a version mismatch): the deployment's to fix. */
  BackupToolUnusable: 'BackupToolUnusable',
} as const;

export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];

/** The details an Infected failure carries, so the workflow can report the signature. */
export interface InfectedDetails {
  signature: string;
  quarantineKey: string;
  /** Known when this attempt read the file (not when a retry repeats a recorded verdict). */
  sha256?: string;
  size?: number;
}

/** A business rejection: its message is the reason shown to the user. */
export function rejected(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.Rejected, nonRetryable: true, message: reason });
}

/** The scanner's verdict; `scanned` is what this attempt learnt of the file, when it read it. */
export function infected(
  signature: string,
  quarantineKey: string,
  scanned?: Pick<InfectedDetails, 'sha256' | 'size'>,
): ApplicationFailure {
  const details: InfectedDetails = { signature, quarantineKey, ...scanned };
  return ApplicationFailure.create({
    type: FailureTypes.Infected,
    nonRetryable: true,
    message: `infected: ${signature}`,
    details: [details],
  });
}

export function noThumbnail(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.NoThumbnail, nonRetryable: true, message });
}

export function objectMissing(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.ObjectMissing, nonRetryable: true, message });
}

export function fileRowMissing(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.FileRowMissing, nonRetryable: true, message });
}

/** Built by the activities' database-error classifier, which needs Prisma and so lives in activities/. */
export function databaseError(message: string, cause: Error): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.DatabaseError, nonRetryable: true, message, cause });
}

export function backupToolUnusable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.BackupToolUnusable, nonRetryable: true, message });
}

export function webhookRefused(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.WebhookRefused, nonRetryable: true, message });
}

/** The endpoint answered a permanent 4xx (410 Gone included): retrying would get the same answer. */
export function webhookRejected(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.WebhookRejected, nonRetryable: true, message });
}

/** The endpoint asked to be tried again later (408, 429, 5xx with Retry-After): retried after that delay. */
export function webhookUnavailable(message: string, retryAfterMs: number): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.WebhookUnavailable, message, nextRetryDelay: retryAfterMs });
}

/**
 * A change refused because the workflow took its budget of changes for now: each accepted change is
 * history, and a workflow's history has a hard limit. `retryAfterMs` says when the next one is taken.
 */
export function rateLimited(message: string, retryAfterMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureTypes.RateLimited,
    nonRetryable: true,
    message,
    details: [{ retryAfterMs }],
  });
}

/** The wait a RateLimited failure asks for, read defensively (it crossed a serialization boundary). */
export function retryAfterMsOf(failure: ApplicationFailure): number | null {
  const details = failure.details?.[0];
  if (typeof details !== 'object' || details === null) return null;
  const { retryAfterMs } = details as { retryAfterMs?: unknown };
  return typeof retryAfterMs === 'number' && retryAfterMs >= 0 ? retryAfterMs : null;
}

/** Whether `failure` is an ApplicationFailure of the given type (as the workflow sees an activity's cause). */
export function isFailureOfType(failure: unknown, type: FailureType): failure is ApplicationFailure {
  return failure instanceof ApplicationFailure && failure.type === type;
}

/**
 * Reads an Infected failure's details defensively: they crossed a serialization boundary, and a
 * retry that repeats a recorded verdict knows no sha256.
 */
export function infectedDetailsOf(failure: ApplicationFailure): { signature: string | null; sha256: string | null } {
  const details = failure.details?.[0];
  if (typeof details !== 'object' || details === null) return { signature: null, sha256: null };
  const { signature, sha256 } = details as Partial<Record<keyof InfectedDetails, unknown>>;
  return {
    signature: typeof signature === 'string' ? signature : null,
    sha256: typeof sha256 === 'string' ? sha256 : null,
  };
}

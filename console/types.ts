/* The shapes of /v1 the console reads (the OpenAPI document at /openapi.json is the reference). */

export const STATUSES = ['PROCESSING', 'READY', 'REJECTED', 'INFECTED', 'FAILED', 'DELETED'] as const;
export type Status = (typeof STATUSES)[number];
export const STEPS = ['scan', 'validate', 'resize', 'store', 'index', 'notify'] as const;

export interface Step {
  state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface FileView {
  id: string;
  filename: string;
  contentType: string | null;
  size: number;
  sha256: string | null;
  status: Status;
  reason: string | null;
  steps: Record<string, Step | undefined> | null;
  renditions: { name: string; format: string; width: number; height: number; size: number; url: string }[];
  width: number | null;
  height: number | null;
  tags: string[];
  createdAt: string;
  completedAt: string | null;
  expiresAt: string | null;
  hold: boolean;
  deletedAt: string | null;
  workflowId: string;
  batchId: string | null;
  links: { self: string; content: string; temporalUi: string };
}

export interface FilePage {
  items: FileView[];
  nextCursor: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface Delivery {
  id: string;
  event: string;
  fileId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}

/** A file whose bytes must never be shown: nothing to preview or download. */
export const contentHidden = (file: FileView) => file.status !== 'READY';

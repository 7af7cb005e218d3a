/**
 * Task queues. Resize is CPU-bound, so it has its own queue: media workers can be scaled (and their
 * concurrency limited) separately from the general workers that run the I/O-bound steps.
 */
export const GENERAL_TASK_QUEUE = 'intake';
export const MEDIA_TASK_QUEUE = 'intake-media';

/** Workflow ids are derived from file ids so a retried start can never create a second workflow. */
export const workflowIdFor = (fileId: string): string => `upload-${fileId}`;

/**
 * A batch's workflow id follows from its id, so every file of the batch (and a Kafka producer with
 * signalWithStart) reaches the same one, and a retried start never makes a second.
 */
export const batchWorkflowIdFor = (batchId: string): string => `batch-${batchId}`;

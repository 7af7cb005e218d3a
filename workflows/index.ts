/** The worker's workflowsPath: every function exported here is registered as a workflow type. */
export { uploadWorkflow } from './upload-workflow';
export { sweepOrphansWorkflow } from './sweep-workflow';
export { batchWorkflow } from './batch-workflow';
export { backupDatabaseWorkflow } from './backup-workflow';

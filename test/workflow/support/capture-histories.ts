/**
 * Captures the replay scenarios' histories into test/workflow/histories/, where the replay test keeps
 * checking them against the workflow code. Run it (`npx tsx test/workflow/support/capture-histories.ts`)
 * only when a workflow change is meant to be incompatible and is gated by `patched()`: then add the
 * new histories beside the old ones rather than replacing them, so both code paths stay covered.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { writeHistory } from './history-files';
import { runReplayScenarios } from './replay-scenarios';
import { requireTool, searchAttributeArgs, temporalCliPath } from './workflow-env';

const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: requireTool(temporalCliPath) }, extraArgs: searchAttributeArgs },
});
try {
  for (const { name, history } of await runReplayScenarios(env)) {
    console.log(`wrote ${writeHistory(name, history)}`);
  }
} finally {
  await env.teardown();
}

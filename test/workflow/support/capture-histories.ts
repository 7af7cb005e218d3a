/**
 * Captures the replay scenarios' histories into test/workflow/histories/, where the replay test keeps
 * checking them against the workflow code. Run it (`npx tsx test/workflow/support/capture-histories.ts`)
 * when a workflow change is meant to be incompatible and is gated by `patched()`, or after a refactor
 * to pin what the new code records: add the new histories beside the old ones rather than replacing
 * them, so every code path stays covered. `--prefix <name>` writes `<name>-<scenario>.json`, so a
 * capture does not overwrite the histories of the scenarios' previous recording.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { writeHistory } from './history-files';
import { runReplayScenarios } from './replay-scenarios';
import { requireTool, searchAttributeArgs, temporalCliPath, testDataConverter } from './workflow-env';

const prefixAt = process.argv.indexOf('--prefix');
const prefixName = prefixAt === -1 ? '' : process.argv[prefixAt + 1];
if (prefixName === undefined || prefixName.startsWith('-')) throw new Error('--prefix needs a name, e.g. --prefix v2');
const prefix = prefixName === '' ? '' : `${prefixName}-`;

const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: requireTool(temporalCliPath) }, extraArgs: searchAttributeArgs },
  client: { dataConverter: testDataConverter },
});
try {
  for (const { name, history } of await runReplayScenarios(env)) {
    console.log(`wrote ${writeHistory(`${prefix}${name}`, history)}`);
  }
} finally {
  await env.teardown();
}

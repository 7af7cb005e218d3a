// `npm run infra`: the embedded stack on its default ports, with state kept under INTAKE_DATA_DIR so a
// restart finds every earlier workflow, object and row. Ctrl-C stops every server cleanly.
import { loadConfig } from '../config/env';
import {
  describeExit,
  printStack,
  stackOptionsFromConfig,
  StackAlreadyRunningError,
  startStack,
  type Stack,
} from '../infra/stack';

async function main(): Promise<void> {
  const config = loadConfig();
  const settings = stackOptionsFromConfig(config);
  console.log(`infra: starting Temporal, MinIO, PostgreSQL, clamd, Kafka and Redis under ${config.dataDir} …`);
  let stack: Stack;
  try {
    stack = await startStack({ dataDir: config.dataDir, ...settings, log: (line) => console.log(`infra: ${line}`) });
  } catch (error) {
    if (error instanceof StackAlreadyRunningError) {
      console.error(`infra: ${error.message}`);
      console.error('infra: nothing to do — use that one, or stop it (Ctrl-C in its terminal) first.');
    } else {
      console.error(`infra: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.exit(1);
  }

  console.log('infra: ready');
  printStack(stack);
  console.log('infra: Ctrl-C stops everything');

  let stopping = false;
  for (const service of stack.services) {
    void service.exited.then((info) => {
      if (!stopping)
        console.error(
          `infra: ${service.label} stopped (${describeExit(info)}); see ${stack.dataDir}/logs/${service.name}.log`,
        );
    });
  }
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`infra: ${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`infra: ${signal}: stopping …`);
    stack.stop().then(
      () => {
        console.log('infra: stopped');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('infra: stop failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
}

void main();

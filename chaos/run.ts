import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../infra/tools';
import { runChaosSuite } from './suite';
import { chaosTable, failuresOf } from './table';

/*
 * `npm run chaos`: Intake's own fault suite (issue 10). Starts its own stack, and for each fault
 * sends a burst of uploads, injects the fault mid-burst, heals it, and counts what came of every
 * upload. Prints the table and writes chaos/results.json; exits 1 when a fault breaks a promise.
 * CHAOS_UPLOADS (default 30), CHAOS_QUICK=1 (short outages), CHAOS_ONLY=worker,api,… (a subset).
 */

const QUICK = process.env.CHAOS_QUICK === '1';
const UPLOADS = Number(process.env.CHAOS_UPLOADS ?? (QUICK ? 10 : 30));
const ONLY = (process.env.CHAOS_ONLY ?? '').split(',').filter(Boolean);

const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  if (!Number.isInteger(UPLOADS) || UPLOADS < 2) throw new Error('CHAOS_UPLOADS must be an integer of at least 2');
  const startedAt = new Date().toISOString();
  const { results } = await runChaosSuite({ uploads: UPLOADS, quick: QUICK, only: ONLY, log });
  const table = chaosTable(results);
  console.log(`\n${table}\n`);
  writeFileSync(
    join(REPO_ROOT, 'chaos', 'results.json'),
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: { cores: os.availableParallelism(), memoryGiB: Math.round(os.totalmem() / 1024 ** 3) },
        settings: { uploads: UPLOADS, quick: QUICK, only: ONLY },
        table,
        results,
      },
      null,
      2,
    )}\n`,
  );
  const broken = results.flatMap((r) => failuresOf(r).map((problem) => `${r.label}: ${problem}`));
  for (const line of broken) console.error(`broken promise: ${line}`);
  process.exitCode = broken.length > 0 ? 1 : 0;
}

main().then(
  // The stack is stopped; nothing else should keep the process.
  () => process.exit(),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

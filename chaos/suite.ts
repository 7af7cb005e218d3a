import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FULL_OUTAGES, QUICK_OUTAGES, faultsFor } from './faults';
import { runFault, type FaultResult, type RoundSettings } from './run-fault';
import { startChaosSystem } from './system';
import { failuresOf } from './table';

export interface SuiteOptions {
  uploads: number;
  /** Shorter outages (the receiver fails for 20 s instead of 2 min): the version in `npm test`. */
  quick: boolean;
  /** Fault ids to run (worker, temporal, postgres, minio, clamd, api, webhook); empty runs all. */
  only?: readonly string[];
  log: (line: string) => void;
}

export interface SuiteRun {
  dataDir: string;
  results: FaultResult[];
}

/** Starts its own stack in a temporary folder, runs each fault in turn, and stops everything. */
export async function runChaosSuite(options: SuiteOptions): Promise<SuiteRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-chaos-'));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as `postgres`, whose cluster belongs inside it.
  chmodSync(dataDir, 0o755);
  options.log(`data folder ${dataDir} (logs in ${join(dataDir, 'logs')})`);
  const outages = options.quick ? QUICK_OUTAGES : FULL_OUTAGES;
  const settings: RoundSettings = {
    uploads: options.uploads,
    spacingMs: 50,
    settleMs: options.quick ? 90_000 : 180_000,
    // The delivery backoff (5 s doubling) must get past the receiver's outage once.
    webhookSettleMs: outages.webhookFailMs * 2 + 60_000,
  };
  const faults = faultsFor(outages).filter((f) => !options.only?.length || options.only.includes(f.id));
  const system = await startChaosSystem({ dataDir, log: options.log });
  const results: FaultResult[] = [];
  let failed = false;
  try {
    for (const fault of faults) results.push(await runFault(system, fault, settings, options.log));
    failed = results.some((r) => failuresOf(r).length > 0);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await system.stop();
    // A failed run keeps its logs (and its stack's data) to read.
    if (failed) options.log(`kept ${dataDir} for its logs`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
  return { dataDir, results };
}

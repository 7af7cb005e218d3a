import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzFixtures } from '../../scripts/fuzz-fixtures';
import { loopbackOnlyNetwork } from '../../scripts/loopback-only-network';
import { runSchemathesis, type FuzzFixtures } from '../../scripts/schemathesis';
import { startIntake, type RunningIntake } from '../support/running-intake';

/*
 * The bounded run of `npm run fuzz`: schemathesis over the real API's /openapi.json, with a real key,
 * against the real stack from global-setup, with the same checks and fixtures. A fixed seed keeps it
 * the same run every time; `npm run fuzz` explores new seeds with more examples.
 */

const FUZZ_KEY = 'fuzz-e2e-key-0001';
const PEER_KEY = 'peer-e2e-key-0002';

let intake: RunningIntake<'fuzz' | 'peer'>;
let fixtures: FuzzFixtures;

beforeAll(async () => {
  // The workers deliver to whatever the fuzzer registers: this process reaches 127.0.0.1 only.
  loopbackOnlyNetwork();
  // Generated uploads fail validation by the hundred, each an SDK warning: only errors are news here.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  intake = await startIntake({
    tenants: { fuzz: FUZZ_KEY, peer: PEER_KEY },
    // The fuzzer sends as fast as it can: limits it cannot reach, so a 429 is never what it finds.
    env: { INTAKE_DEFAULT_LIMITS: 'rps=100000,uploads=1000,storage=1000GiB,files=100000000' },
  });
  fixtures = await createFuzzFixtures(intake.clients.fuzz, intake.receiver.url('').replace(/\/$/, ''));
}, 180_000);

afterAll(async () => {
  await intake?.stop();
});

describe('schemathesis over the API contract', () => {
  it('finds no 5xx, no schema violation and no undocumented status, content type or header', async () => {
    const output: string[] = [];
    const reportDir = mkdtempSync(join(tmpdir(), 'intake-fuzz-report-'));
    const result = await runSchemathesis({
      url: intake.api.url,
      apiKey: FUZZ_KEY,
      peerApiKey: PEER_KEY,
      fixtures,
      maxExamples: 8,
      seed: 20261202,
      reportDir,
      output: (line) => output.push(line),
    });
    if (result.exitCode !== 0) console.log(output.join('\n'));
    expect(result.exitCode, `schemathesis failed; reports in ${result.reports.join(', ')}`).toBe(0);
  }, 240_000);
});

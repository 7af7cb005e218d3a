import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../infra/tools';
import { sampleRss } from './processes';

/** One `intake …` command in a fresh process, as an operator runs it: timed from spawn to exit. */
export interface CliRun {
  ms: number;
  /** The process's peak resident memory, sampled every 50 ms. */
  peakRssBytes: number;
  stdout: string;
}

/** Runs `bin/intake.mjs …args`; rejects with the tail of its stderr unless it exits 0. */
export function runIntakeCli(env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'intake.mjs'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rss = sampleRss(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const { peak } = rss.stop();
      if (code !== 0) return reject(new Error(`intake ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ ms: performance.now() - started, peakRssBytes: peak, stdout });
    });
  });
}

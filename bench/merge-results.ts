import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'prettier';
import { REPO_ROOT } from '../infra/tools';

/*
 * `npx tsx bench/merge-results.ts <label>`: keeps a BENCH_ONLY / BENCH_QUICK run in bench/results.json.
 * Such runs write bench/results.partial.json (gitignored) so a tuning run never overwrites the full
 * run's figures; this files the partial run under `parts.<label>` of results.json, with its settings,
 * load and targets, so figures the README quotes from reduced or tuning runs are on record beside
 * the full ones. The same label again replaces that entry.
 */

const label = process.argv[2];
if (!label || !/^[a-z0-9][a-z0-9.-]*$/.test(label)) {
  console.error('usage: tsx bench/merge-results.ts <label>   (lower-case letters, digits, dots and dashes)');
  process.exit(2);
}
const dir = join(REPO_ROOT, 'bench');
const partialFile = join(dir, 'results.partial.json');
if (!existsSync(partialFile)) {
  console.error(`${partialFile} does not exist: run a BENCH_ONLY or BENCH_QUICK bench first`);
  process.exit(1);
}
const partial = JSON.parse(readFileSync(partialFile, 'utf8')) as Record<string, unknown>;
const resultsFile = join(dir, 'results.json');
const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown> & {
  parts?: Record<string, unknown>;
};
results.parts = { ...results.parts, [label]: partial };
writeFileSync(resultsFile, await format(JSON.stringify(results), { parser: 'json' }));
console.log(`bench/results.json: parts.${label} from bench/results.partial.json (${Object.keys(partial).join(', ')})`);

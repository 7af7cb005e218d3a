import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { probeFiles, probeOpenWorkflows, type OpenWorkflowsProbe } from './measure-open-workflows';
import { measureStorm, type StormResult } from './measure-storm';
import { createRetainedFiles, type RetainedFiles } from './retained-files';
import { round } from './stats';

/*
 * Issue 16's items 5 and 3 in the order `npm run bench` runs them: the probes on the (nearly) empty
 * stack, the population of uploads waiting on their timers, the probes again, then a storm of part of
 * that population expiring at one instant (with the rest still open).
 */

interface ScaleContext {
  client: IntakeClient;
  temporal: Client;
  pool: pg.Pool;
  apiUrl: string;
  apiKey: string;
  workerPid: number;
  log: (line: string) => void;
}

export interface OpenWorkflowsResult {
  count: number;
  createdInMs: number;
  createdFilesPerSecond: number;
  empty: OpenWorkflowsProbe;
  loaded: OpenWorkflowsProbe;
  ratios: { workerRss: number; getP95: number; queryP95: number; deleteP95: number; deletedP95: number };
}

const PROBES = 8;
const VICTIMS = 20;

export async function measureOpenWorkflows(
  context: ScaleContext & { count: number; requests: number },
): Promise<{ result: OpenWorkflowsResult; files: RetainedFiles }> {
  const { client, log } = context;
  const probe = async (label: string, openWorkflows: number, queryIds?: readonly string[]) => {
    const readIds = await probeFiles(client, `${label}-read`, PROBES);
    const victims = await probeFiles(client, `${label}-victim`, VICTIMS);
    return probeOpenWorkflows({
      ...context,
      openWorkflows,
      readIds,
      queryIds: queryIds ?? readIds,
      victims,
      requests: context.requests,
    });
  };
  const empty = await probe('empty', PROBES + VICTIMS);
  log(`open workflows, empty: ${JSON.stringify(empty)}`);
  const files = await createRetainedFiles({ ...context, count: context.count, label: 'open', retention: '2h' });
  log(`open workflows: ${files.ids.length} READY in ${(files.elapsedMs / 1000).toFixed(0)} s`);
  const loaded = await probe('loaded', files.ids.length + PROBES + VICTIMS, files.ids);
  log(`open workflows, loaded: ${JSON.stringify(loaded)}`);
  const ratio = (key: keyof OpenWorkflowsProbe) => round(loaded[key] / empty[key]);
  return {
    files,
    result: {
      count: files.ids.length,
      createdInMs: Math.round(files.elapsedMs),
      createdFilesPerSecond: round(files.filesPerSecond),
      empty,
      loaded,
      ratios: {
        workerRss: ratio('workerRssMB'),
        getP95: ratio('getP95Ms'),
        queryP95: ratio('queryP95Ms'),
        deleteP95: ratio('deleteP95Ms'),
        deletedP95: ratio('deletedP95Ms'),
      },
    },
  };
}

export async function measureStormPart(
  context: ScaleContext & {
    s3: S3Client;
    bucket: string;
    tenantId: string;
    count: number;
    /** Files already waiting (the open-workflows population): the storm expires the first `count`. */
    existing?: RetainedFiles;
    quietReads: number;
  },
): Promise<StormResult & { createdInMs?: number; openAround: number }> {
  const { log } = context;
  let files: RetainedFiles;
  let createdInMs: number | undefined;
  if (context.existing && context.existing.ids.length >= context.count) {
    // Whole batches of the population (batches are filled in order), so the storm's files are its batches'.
    const perBatch = Math.ceil(context.existing.ids.length / context.existing.batchIds.length);
    const batches = Math.ceil(context.count / perBatch);
    files = {
      ...context.existing,
      batchIds: context.existing.batchIds.slice(0, batches),
      ids: context.existing.ids.slice(0, batches * perBatch),
    };
  } else {
    files = await createRetainedFiles({ ...context, count: context.count, label: 'storm', retention: '2h' });
    createdInMs = Math.round(files.elapsedMs);
    log(`storm: ${files.ids.length} READY in ${(files.elapsedMs / 1000).toFixed(0)} s`);
  }
  const probeIds = await probeFiles(context.client, 'storm-read', PROBES);
  const result = await measureStorm({ ...context, files, probeIds, timeoutMs: 20 * 60_000 });
  log(`storm: ${JSON.stringify(result)}`);
  const openAround = (context.existing?.ids.length ?? files.ids.length) - files.ids.length;
  return { ...result, ...(createdInMs !== undefined ? { createdInMs } : {}), openAround };
}

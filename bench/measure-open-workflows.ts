import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { rssOf } from './processes';
import { timeStatusQuery } from './retained-files';
import { timeToFirstByte } from './measure-status';
import { median, percentile, round } from './stats';

/*
 * What a file among many open workflows costs to read and delete: the same probes on an empty stack
 * and after thousands of uploads wait on their retention timers (bench/retained-files.ts), in one run.
 */

export interface OpenWorkflowsProbe {
  openWorkflows: number;
  workerRssMB: number;
  /** GET /v1/files/{id} of a READY file (answered from Postgres), time to first byte. */
  getP50Ms: number;
  getP95Ms: number;
  /** The workflow's status query sent straight to Temporal, for files spread over every open workflow. */
  queryP50Ms: number;
  queryP95Ms: number;
  /** DELETE /v1/files/{id} → 202 (the API signals the workflow). */
  deleteP50Ms: number;
  deleteP95Ms: number;
  /** DELETE sent → the file's row DELETED (artifacts gone, tombstone written). */
  deletedP50Ms: number;
  deletedP95Ms: number;
}

/** A few READY text files made for probing (`count` sequential uploads, awaited READY). */
export async function probeFiles(client: IntakeClient, label: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const accepted = await client.uploadFile(`${label} probe ${i}\n`, {
      filename: `${label}-${i}.txt`,
      contentType: 'text/plain',
      retention: '2h',
      mode: 'raw',
    });
    ids.push(accepted.id);
  }
  for (const id of ids) {
    const file = await client.waitForFile(id);
    if (file.status !== 'READY') throw new Error(`probe ${id} ended ${file.status}`);
  }
  return ids;
}

export async function probeOpenWorkflows(options: {
  client: IntakeClient;
  temporal: Client;
  pool: pg.Pool;
  apiUrl: string;
  apiKey: string;
  workerPid: number;
  openWorkflows: number;
  /** READY files to GET, round-robin. */
  readIds: readonly string[];
  /** Files to query, drawn at random: among many, most are not in the worker's workflow cache. */
  queryIds: readonly string[];
  /** Files to delete, one DELETE each. */
  victims: readonly string[];
  requests: number;
}): Promise<OpenWorkflowsProbe> {
  const { readIds, queryIds, victims, requests } = options;
  const gets: number[] = [];
  for (let i = 0; i < requests; i++) {
    const answer = await timeToFirstByte(`${options.apiUrl}/v1/files/${readIds[i % readIds.length]}`, options.apiKey);
    if (answer.status !== 200) throw new Error(`GET answered ${answer.status}`);
    gets.push(answer.ms);
  }
  const queries: number[] = [];
  for (let i = 0; i < requests; i++) {
    queries.push(await timeStatusQuery(options.temporal, queryIds[Math.floor(Math.random() * queryIds.length)]!));
  }
  const deletes: number[] = [];
  const sentAt = new Map<string, number>();
  for (const id of victims) {
    const started = performance.now();
    sentAt.set(id, Date.now());
    await options.client.deleteFile(id);
    deletes.push(performance.now() - started);
  }
  const deadline = Date.now() + 120_000;
  let deleted: { id: string; at: string }[] = [];
  while (Date.now() < deadline) {
    ({ rows: deleted } = await options.pool.query<{ id: string; at: string }>(
      `SELECT id, (extract(epoch from "deletedAt") * 1000)::float8 AS at FROM "File" WHERE id = ANY($1) AND status = 'DELETED'`,
      [victims],
    ));
    if (deleted.length === victims.length) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (deleted.length !== victims.length) throw new Error(`${victims.length - deleted.length} deletes did not finish`);
  const toDeleted = deleted.map((r) => Number(r.at) - sentAt.get(r.id)!);
  return {
    openWorkflows: options.openWorkflows,
    workerRssMB: round(rssOf(options.workerPid) / 2 ** 20, 1),
    getP50Ms: round(median(gets), 1),
    getP95Ms: round(percentile(gets, 95), 1),
    queryP50Ms: round(median(queries), 1),
    queryP95Ms: round(percentile(queries, 95), 1),
    deleteP50Ms: round(median(deletes), 1),
    deleteP95Ms: round(percentile(deletes, 95), 1),
    deletedP50Ms: Math.round(median(toDeleted)),
    deletedP95Ms: Math.round(percentile(toDeleted, 95)),
  };
}

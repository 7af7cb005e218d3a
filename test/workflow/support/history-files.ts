import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;
const { History } = proto.temporal.api.history.v1;

/** Where the captured histories live; the replay test replays every file in it. */
export const historiesDir = new URL('../histories/', import.meta.url);

/*
 * Histories are stored as protobuf.js objects in JSON (int64 as strings, enums by name, bytes as
 * base64) rather than through @temporalio/common's historyToJSON/historyFromJSON: with this install
 * common and proto each carry their own protobufjs copy, and those helpers fail with
 * "type must be a Type". The round trip below stays inside one copy, so it is exact.
 */
export function writeHistory(name: string, history: History): string {
  const path = new URL(`${name}.json`, historiesDir);
  const object = History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
  writeFileSync(path, `${JSON.stringify(object, null, 2)}\n`);
  return path.pathname;
}

export function readHistories(): { name: string; history: History }[] {
  return readdirSync(historiesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.replace(/\.json$/, ''),
      history: History.fromObject(JSON.parse(readFileSync(new URL(file, historiesDir), 'utf8')) as object),
    }));
}

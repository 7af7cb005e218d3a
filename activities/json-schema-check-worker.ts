/*
 * Runs inside a worker thread started by json-schema-check.ts: parsing a large document and running a
 * tenant's schema (whose patterns are regular expressions the tenant wrote) are bounded in heap and
 * time there, never in the worker process. Node runs this file by stripping its types, so it imports
 * only packages and Node built-ins; Ajv gets the options of lib/json-schema.ts (AJV_OPTIONS).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

interface CheckRequest {
  schema: object | boolean;
  bytes: Uint8Array;
  maxErrors: number;
  ajvOptions: object;
}

const request = workerData as CheckRequest;

function check() {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(request.bytes).replace(/^\uFEFF/, ''));
  } catch (error) {
    return { kind: 'not-json' as const, detail: (error as Error).message };
  }
  const ajv = new Ajv2020(request.ajvOptions);
  addFormats.default(ajv);
  const validate = ajv.compile(request.schema);
  if (validate(document)) return { kind: 'valid' as const };
  const errors = (validate.errors ?? []).slice(0, request.maxErrors).map((error) => ({
    path: error.instancePath,
    message: error.message ?? error.keyword,
  }));
  return { kind: 'invalid' as const, errors, count: validate.errors?.length ?? errors.length };
}

parentPort!.postMessage(check());

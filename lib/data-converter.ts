import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config/env';
import { codecSecrets } from './codec-secrets';
import { AesGcmPayloadCodec, type PayloadKey } from './payload-codec';

/** The failure converter every side loads by path; the workflow bundle is built with the same one. */
export const failureConverterPath = fileURLToPath(new URL('../common/failure-converter.ts', import.meta.url));

/**
 * The one data converter of every Temporal client and worker Intake creates (API, workers, sweeper,
 * CLI, bench, tests): payloads encrypted with the configured keys, failure messages encoded with them.
 * A client or worker without it would write plaintext into histories, or fail to read them.
 */
export function intakeDataConverter(keys: readonly PayloadKey[]): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath };
}

/** intakeDataConverter with the keys config names (or the development key under the data folder). */
export function dataConverterFor(config: Pick<Config, 'codec' | 'dataDir'>): DataConverter {
  return intakeDataConverter(codecSecrets(config).keys);
}

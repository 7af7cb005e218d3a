import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config/env';

/** What both kinds of Temporal connection take: the API's client `Connection` and the worker's `NativeConnection`. */
export interface TemporalConnectionOptions {
  address: string;
  tls: TLSConfig | boolean;
  apiKey: string | undefined;
}

/**
 * How to reach Temporal as config.temporal says: plain, TLS (mTLS when a client certificate and key
 * are given) or API key. Certificate files are read here, when the connection is built.
 */
export function temporalConnectionOptions(temporal: Config['temporal']): TemporalConnectionOptions {
  const tls =
    temporal.tlsCertPath && temporal.tlsKeyPath
      ? { clientCertPair: { crt: readFileSync(temporal.tlsCertPath), key: readFileSync(temporal.tlsKeyPath) } }
      : temporal.tls;
  return { address: temporal.address, tls, apiKey: temporal.apiKey };
}

import type { S3Client } from '@aws-sdk/client-s3';
import type { RouteConfig, RouteHandler } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/env';
import type { ApiMetrics } from '../lib/metrics';
import type { TenantLimits } from '../common/tenant-limits';
import type { RequestLimiter } from '../lib/request-limiter';
import type { Db } from '../prisma/db';
import type { FileChanges } from '../prisma/file-changes';
import type { FileFeed } from './file-events/file-feed';

/** Everything the API talks to. Built once by server.ts (or by a test) and handed to createApp. */
export interface ApiServices {
  config: Config;
  db: Db;
  s3: S3Client;
  temporal: Client;
  log: Logger;
  /** Answers clamd's PING (server.ts sends a TCP PING to config.clamd; tests fake it). */
  clamdPing: () => Promise<void>;
  /** The API's Prometheus metrics (lib/metrics.ts); without them there is no GET /metrics. */
  metrics?: ApiMetrics;
  /** Rate limits and upload slots in Redis, shared by every API process. */
  limiter: RequestLimiter;
  /** The one poller behind every event stream of this process; createBaseApp makes it when not given. */
  fileFeed?: FileFeed;
  /** The one Postgres LISTEN per process that wakes long-polls on change; without it they poll. */
  fileChanges?: FileChanges;
}

/**
 * Typed context variables, set by one middleware in create-app.ts. Handlers read services from here,
 * never from module scope, so each test can build an app around its own fakes.
 */
export interface AppEnv {
  Variables: {
    config: Config;
    db: Db;
    s3: S3Client;
    temporal: Client;
    clamdPing: () => Promise<void>;
    /** Request-scoped logger; enriched with tenant, file id and workflow id as they become known. */
    log: Logger;
    requestId: string;
    metrics: ApiMetrics | undefined;
    /** Set by the auth middleware on every /v1 route. */
    tenantId: string;
    /** The API key's id (the rate limit counts per key) and its tenant's limits, set with tenantId. */
    apiKeyId: string;
    limits: TenantLimits;
    limiter: RequestLimiter;
    fileFeed: FileFeed;
    fileChanges: FileChanges | undefined;
  };
}

/** A handler typed from its createRoute definition: its params, query, body and responses. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

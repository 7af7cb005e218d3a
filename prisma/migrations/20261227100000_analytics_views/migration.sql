-- The analytics schema: read-only views over Intake tables for BI tools (Metabase, Superset, Power BI)
-- and for GET /v1/analytics/summary, so both report the same numbers. The views leave out everything
-- secret or private: API keys, webhook secrets, callback and webhook URLs, filenames and error texts
-- (a webhook error can quote its URL). Kept out of schema.prisma: Prisma manages the public schema only.
CREATE SCHEMA IF NOT EXISTS analytics;

-- Timestamps are UTC "timestamp without time zone", as Prisma keeps them, days are UTC days.

-- One row per upload: the facts every other view is built from.
CREATE OR REPLACE VIEW analytics.files AS
SELECT
  f."id" AS file_id,
  f."tenantId" AS tenant_id,
  f."batchId" AS batch_id,
  f."createdAt" AS created_at,
  f."createdAt"::date AS day,
  f."completedAt" AS completed_at,
  coalesce(f."contentType", f."declaredContentType", 'unknown') AS content_type,
  -- Where it came from: the ingestSource one key (kafka, …), a direct-to-S3 upload, or the HTTP API.
  coalesce(
    (SELECT k FROM jsonb_object_keys(CASE WHEN jsonb_typeof(f."ingestSource"::jsonb) = 'object' THEN f."ingestSource"::jsonb END) AS k LIMIT 1),
    CASE WHEN EXISTS (SELECT 1 FROM "DirectUpload" d WHERE d."fileId" = f."id") THEN 'direct' END,
    'http'
  ) AS source,
  f."status" AS status,
  f."size" AS size_bytes,
  f."chargedBytes" AS charged_bytes,
  CASE
    WHEN f."status" = 'READY' AND f."completedAt" IS NOT NULL
      THEN extract(epoch FROM (f."completedAt" - f."createdAt")) * 1000
  END::double precision AS time_to_ready_ms,
  CASE
    WHEN f."status" = 'INFECTED' THEN 'infected'
    WHEN f."steps"::jsonb #>> '{scan,state}' = 'done' THEN 'clean'
    WHEN f."steps"::jsonb #>> '{scan,state}' = 'failed' THEN 'error'
    ELSE 'not_scanned'
  END AS scan_verdict,
  f."deletedAt" AS deleted_at,
  f."deletionReason" AS deletion_reason
FROM "File" f;

-- One row per (file, step), from the steps JSON: {"scan": {state, attempts, startedAt, finishedAt, error}, …}.
CREATE OR REPLACE VIEW analytics.step_events AS
SELECT
  f."id" AS file_id,
  f."tenantId" AS tenant_id,
  s.key AS step,
  s.value ->> 'state' AS outcome,
  coalesce((s.value ->> 'attempts')::int, 0) AS attempts,
  (s.value ->> 'startedAt')::timestamptz AT TIME ZONE 'UTC' AS started_at,
  (s.value ->> 'finishedAt')::timestamptz AT TIME ZONE 'UTC' AS finished_at,
  (extract(epoch FROM ((s.value ->> 'finishedAt')::timestamptz - (s.value ->> 'startedAt')::timestamptz)) * 1000)::double precision AS duration_ms
FROM "File" f
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(f."steps"::jsonb) = 'object' THEN f."steps"::jsonb ELSE '{}'::jsonb END) AS s
WHERE jsonb_typeof(s.value) = 'object';

CREATE OR REPLACE VIEW analytics.uploads_daily AS
SELECT day, tenant_id, content_type, source, status AS outcome, count(*)::bigint AS uploads, sum(size_bytes)::bigint AS bytes
FROM analytics.files
GROUP BY day, tenant_id, content_type, source, status;

-- What each tenant holds now: the quota counters, and the originals bytes of the files still READY.
CREATE OR REPLACE VIEW analytics.bytes_stored AS
SELECT
  t."id" AS tenant_id,
  t."storedBytes" AS stored_bytes,
  t."fileCount" AS file_count,
  coalesce((SELECT sum(f."size") FROM "File" f WHERE f."tenantId" = t."id" AND f."status" = 'READY'), 0)::bigint AS ready_original_bytes
FROM "Tenant" t;

CREATE OR REPLACE VIEW analytics.time_to_ready AS
SELECT
  day,
  tenant_id,
  count(*)::bigint AS ready,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_ready_ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY time_to_ready_ms) AS p95_ms
FROM analytics.files
WHERE time_to_ready_ms IS NOT NULL
GROUP BY day, tenant_id;

CREATE OR REPLACE VIEW analytics.step_durations AS
SELECT
  started_at::date AS day,
  tenant_id,
  step,
  outcome,
  count(*)::bigint AS runs,
  sum(attempts)::bigint AS attempts,
  avg(duration_ms) AS avg_ms,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
FROM analytics.step_events
WHERE duration_ms IS NOT NULL
GROUP BY 1, tenant_id, step, outcome;

CREATE OR REPLACE VIEW analytics.scan_verdicts AS
SELECT day, tenant_id, scan_verdict AS verdict, count(*)::bigint AS files
FROM analytics.files
GROUP BY day, tenant_id, scan_verdict;

-- Deliveries without their URL, error text or payload, latency is from the event to its delivery.
CREATE OR REPLACE VIEW analytics.webhook_deliveries AS
SELECT
  d."createdAt"::date AS day,
  d."tenantId" AS tenant_id,
  d."event" AS event,
  count(*)::bigint AS deliveries,
  count(*) FILTER (WHERE d."status" = 'delivered')::bigint AS delivered,
  count(*) FILTER (WHERE d."status" = 'failed')::bigint AS failed,
  count(*) FILTER (WHERE d."status" NOT IN ('delivered', 'failed'))::bigint AS pending,
  (count(*) FILTER (WHERE d."status" = 'delivered'))::double precision / count(*) AS success_rate,
  sum(d."attempts")::bigint AS attempts,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (d."deliveredAt" - d."createdAt")) * 1000) AS latency_p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM (d."deliveredAt" - d."createdAt")) * 1000) AS latency_p95_ms
FROM "WebhookDelivery" d
GROUP BY 1, d."tenantId", d."event";

-- Each HTTP attempt own duration, as the deliverer measured it.
CREATE OR REPLACE VIEW analytics.webhook_attempts AS
SELECT
  a."createdAt"::date AS day,
  d."tenantId" AS tenant_id,
  d."event" AS event,
  a."statusCode" AS status_code,
  count(*)::bigint AS attempts,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY a."durationMs") AS duration_p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY a."durationMs") AS duration_p95_ms
FROM "WebhookAttempt" a
JOIN "WebhookDelivery" d ON d."id" = a."deliveryId"
GROUP BY 1, d."tenantId", d."event", a."statusCode";

CREATE OR REPLACE VIEW analytics.retention_deletions AS
SELECT deleted_at::date AS day, tenant_id, coalesce(deletion_reason, 'unknown') AS reason, count(*)::bigint AS files, sum(size_bytes)::bigint AS bytes
FROM analytics.files
WHERE deleted_at IS NOT NULL
GROUP BY 1, tenant_id, 3;

-- The analyst role. Roles are cluster-wide, so it may exist already (another database of the
-- cluster, a migrate reset): create it only if missing. NOLOGIN until an operator gives it a password
-- (README, Analytics). The views run with their owner rights, so SELECT on them is all it needs:
-- it holds no grant on any table of the public schema (ApiKey, Tenant, WebhookEndpoint, …).
-- The body is written with \073 for its semicolons: Prisma splits a migration at every semicolon,
-- dollar quotes included.
DO E'BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ''intake_analyst'') THEN
    CREATE ROLE intake_analyst NOLOGIN\073
  END IF\073
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL\073
END';

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM intake_analyst;
REVOKE CREATE ON SCHEMA public FROM intake_analyst;
GRANT USAGE ON SCHEMA analytics TO intake_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO intake_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO intake_analyst;

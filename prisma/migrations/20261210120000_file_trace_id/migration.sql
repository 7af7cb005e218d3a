-- The W3C trace id of the upload request, so GET /v1/files/{id} names the trace that holds its
-- workflow and activities. NULL for uploads accepted with tracing off, and for every earlier upload.
ALTER TABLE "File" ADD COLUMN "traceId" TEXT;

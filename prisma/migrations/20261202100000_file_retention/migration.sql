-- The retention an upload asked for, in milliseconds from its outcome. Kept with the row so a restart of
-- a lost workflow (the sweeper) honours it. NULL for rows made before this column: the default applies.
ALTER TABLE "File" ADD COLUMN "retentionMs" BIGINT;

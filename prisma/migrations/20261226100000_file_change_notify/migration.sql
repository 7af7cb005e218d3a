-- Long-polls and event streams wake on change instead of re-reading on a timer: every change to what a
-- file view shows (its outcome, renditions, steps, retention, hold) notifies channel `intake_file` with
-- `<tenantId>:<id>`. NOTIFY is sent at commit, so a woken reader always sees the new row.
-- The migration runner (Prisma's schema engine over the pg adapter) splits the script at every
-- semicolon, quoted or not, so the body spells its semicolons as the escape \073 of an E'' string.
CREATE OR REPLACE FUNCTION intake_notify_file_change() RETURNS trigger LANGUAGE plpgsql AS
E'BEGIN PERFORM pg_notify(''intake_file'', NEW."tenantId" || '':'' || NEW."id")\073 RETURN NULL\073 END';

DROP TRIGGER IF EXISTS "File_notify_change" ON "File";

CREATE TRIGGER "File_notify_change"
  AFTER INSERT OR UPDATE OF "status", "renditions", "steps", "expiresAt", "hold", "deletedAt", "completedAt"
  ON "File"
  FOR EACH ROW
  EXECUTE FUNCTION intake_notify_file_change();

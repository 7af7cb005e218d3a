-- The text of a PDF (its first INTAKE_PDF_TEXT_PAGES pages, at most 65,536 characters), written by
-- the validate step that parsed it so it never rides through the Temporal history. The index step
-- folds it into "searchVector", whose GIN index (File_searchVector_idx) is what q searches. This
-- column holds the text between the two steps.
ALTER TABLE "File" ADD COLUMN "bodyText" TEXT;

ALTER TABLE "console"."audit_entries" ALTER COLUMN "body" SET DATA TYPE text USING convert_from("body", 'UTF8');

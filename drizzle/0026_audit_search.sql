-- The trail's text search (ADR 031): pg_trgm is a trusted extension (PostgreSQL 13+), so the
-- database's owner may create it; the index is the expression the search filters on.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX "audit_entries_search_idx" ON "console"."audit_entries" USING gin ((coalesce("action", '') || ' ' || coalesce((("body")::jsonb -> 'details')::text, '')) gin_trgm_ops);

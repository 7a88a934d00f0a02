-- The default grant policy per data category (DESIGN.md's role table; app/modules/access/vocabulary.ts
-- DEFAULT_GRANT_POLICIES). Later changes are data, made by holders of policy:manage.
INSERT INTO "console"."grant_policies" ("category", "max_duration_minutes", "approvals_needed", "approver_permission", "updated_at") VALUES
  ('profile', 60, 1, 'grants:approve', '2026-01-01T00:00:00Z'),
  ('usage', 60, 1, 'grants:approve', '2026-01-01T00:00:00Z'),
  ('preferences', 60, 1, 'grants:approve', '2026-01-01T00:00:00Z'),
  ('conversations', 60, 1, 'grants:approve_sensitive', '2026-01-01T00:00:00Z'),
  ('payments', 60, 1, 'grants:approve_sensitive', '2026-01-01T00:00:00Z');
--> statement-breakpoint
-- The history of access does not vanish: the app may not delete grants, nor change or delete a
-- decision once made. Every category keeps a policy (the domain refuses a request without one).
REVOKE DELETE, TRUNCATE ON "console"."grants" FROM custodian_app;
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "console"."grant_decisions" FROM custodian_app;
--> statement-breakpoint
REVOKE DELETE, TRUNCATE ON "console"."grant_policies" FROM custodian_app;

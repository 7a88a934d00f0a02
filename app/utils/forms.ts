import type { z } from 'zod';

export type FieldErrors = Record<string, string>;

/** Parses form data with a zod schema; on failure, the first message per field. */
export function parseForm<S extends z.ZodType>(
  schema: S,
  data: Record<string, unknown>,
): { ok: true; value: z.infer<S> } | { ok: false; fieldErrors: FieldErrors } {
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues)
    fieldErrors[String(issue.path[0] ?? 'form')] ??= issue.message;
  return { ok: false, fieldErrors };
}

/** FormData to a plain object; repeated names (checkbox groups) become arrays. */
export function formObject(form: FormData, arrays: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set(form.keys())) {
    out[key] = arrays.includes(key) ? form.getAll(key) : form.get(key);
  }
  for (const key of arrays) out[key] ??= [];
  return out;
}

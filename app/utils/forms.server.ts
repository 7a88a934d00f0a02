import type { z } from 'zod';
import { InputError } from './errors.ts';

export type FieldErrors = Record<string, string>;

// The one parser of input with field errors: a route answers a failed parse with
// `json({ fieldErrors }, { status: 400 })`; a module throws its own input error built from them.
// NOTE: a .server file, so that zod stays out of the browser bundle.

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What no text from outside may hold, whatever the field: a NUL (PostgreSQL's text cannot store
 * it, so it would fail the request with a 500 far from here) or a lone surrogate (not Unicode
 * text; it cannot be encoded as UTF-8). Checked before any schema, for every field, so a schema
 * cannot forget it. The first such field and why, or null.
 */
export function unfitText(data: unknown): { field: string; message: string } | null {
  if (typeof data !== 'object' || data === null) return null;
  for (const [field, value] of Object.entries(data)) {
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof v !== 'string') continue;
      if (v.includes('\u0000')) return { field, message: 'Must not contain a NUL character' };
      if (LONE_SURROGATE.test(v)) {
        return { field, message: 'Must be valid Unicode text (it holds a lone surrogate)' };
      }
    }
  }
  return null;
}

/**
 * Parses input (form data, a module's arguments) with a zod schema; on failure, the first message
 * per field (`form` for the input as a whole). A NUL or a lone surrogate in any field fails it.
 */
export function parseForm<S extends z.ZodType>(
  schema: S,
  data: unknown,
): { ok: true; value: z.infer<S> } | { ok: false; fieldErrors: FieldErrors } {
  const unfit = unfitText(data);
  if (unfit) return { ok: false, fieldErrors: { [unfit.field]: unfit.message } };
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues)
    fieldErrors[String(issue.path[0] ?? 'form')] ??= issue.message;
  return { ok: false, fieldErrors };
}

/**
 * Parses search or route parameters: the value, or an InputError naming the first parameter in
 * error (routes answer it with a 400 through http.server.ts's answer()/attempt()).
 */
export function parseParams<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const unfit = unfitText(data);
  if (unfit) throw new InputError(unfit.field, unfit.message);
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new InputError(String(issue.path[0]), issue.message);
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

import { sql, type SQL } from 'drizzle-orm';

// NOTE: drizzle spreads a JS array inside sql`` into a list of parameters, so `= any(${list})`
// would not be an array; these build a real text[] or uuid[].
export function textArray(values: readonly string[]): SQL {
  return values.length
    ? sql`array[${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )}]::text[]`
    : sql`'{}'::text[]`;
}

export function uuidArray(values: readonly string[]): SQL {
  return values.length
    ? sql`array[${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )}]::uuid[]`
    : sql`'{}'::uuid[]`;
}

import type { LoaderFunctionArgs } from '@remix-run/node';
import { json } from '@remix-run/node';
import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';

export const access = publicAccess;

export async function loader(_args: LoaderFunctionArgs) {
  try {
    await Promise.race([
      getDb().execute(sql`select 1`),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000)),
    ]);
    return json(
      { status: 'ok', database: 'reachable' },
      { headers: { 'Cache-Control': 'no-store' } },
    );
  } catch {
    return json(
      { status: 'unavailable', database: 'unreachable' },
      { status: 503, headers: { 'Cache-Control': 'no-store' } },
    );
  }
}

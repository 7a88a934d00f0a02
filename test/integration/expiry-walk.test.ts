import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { purgeBatch, type ExpiryTarget } from '#app/db/expiry.server.ts';
import * as schema from '#app/db/schema.ts';
import { ownerUrl, useTestDatabase } from '../support/db.ts';

// The retention purge walks a table in its physical order, a window of pages at a time (ADR 032):
// on a table of hundreds of pages, with windows of a few pages and small batches, the walk removes
// exactly the rows past the cut-off — none twice, none left, none kept that should go — whatever
// the window, the batch size and which rows are expired, and it ends.

useTestDatabase();
let owner: postgres.Sql;
let db: ReturnType<typeof drizzle<typeof schema>>;

beforeAll(async () => {
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
  db = drizzle(owner, { schema });
  await owner`create table public.walk_rows (
    id bigint primary key, expired boolean not null, pad text not null)`;
});
afterAll(async () => {
  await owner?.end();
});

const target: ExpiryTarget = {
  table: 'public.walk_rows',
  key: 'id',
  expired: sql`expired`,
};

it('removes exactly the expired rows, in batches of at most the limit, and ends', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 4, max: 60 }),
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 0, max: 1_000 }),
      async (windowPages, limit, every, offset) => {
        await owner`truncate public.walk_rows`;
        // 1,000 rows of ~400 bytes: about 55 pages, every `every`-th row (shifted) expired, in an
        // order that is not the key's.
        await owner`insert into public.walk_rows
          select g, (g + ${offset}) % ${every} = 0, repeat('x', 400)
          from generate_series(1, 1000) g order by md5(g::text)`;
        const [count] = await owner<{ expired: number }[]>`
          select count(*)::int as expired from public.walk_rows where expired`;
        const expired = count!.expired;
        let after: string | null = null;
        let removed = 0;
        for (let batches = 0; ; batches++) {
          if (batches > 2_000) throw new Error('the walk does not end');
          const before = await owner<{ at: string }[]>`
            select ctid::text as at from public.walk_rows where expired`;
          const batch = await db.transaction((tx) =>
            purgeBatch(tx, target, null, after, limit, windowPages),
          );
          expect(batch.removed).toBeLessThanOrEqual(limit);
          if (batch.removed === limit && !batch.done) {
            // A full batch goes on right after the furthest row it removed, by address (block, then
            // offset), never from a nearer one: '(9,1)' sorts after '(10,1)' as text.
            const still = new Set(
              (
                await owner<{ at: string }[]>`
                select ctid::text as at from public.walk_rows where expired`
              ).map((r) => r.at),
            );
            const gone = before.map((r) => r.at).filter((at) => !still.has(at));
            expect(batch.last).toBe(gone.sort(byAddress).at(-1));
          }
          removed += batch.removed;
          after = batch.last;
          if (batch.done) break;
        }
        expect(removed).toBe(expired);
        const [left] = await owner<{ expired: number; kept: number }[]>`
          select count(*) filter (where expired)::int as expired, count(*)::int as kept
          from public.walk_rows`;
        expect(left).toEqual({ expired: 0, kept: 1000 - expired });
      },
    ),
    { numRuns: 12 },
  );
}, 240_000);

function byAddress(a: string, b: string) {
  const [ab, ao] = a.slice(1, -1).split(',').map(Number);
  const [bb, bo] = b.slice(1, -1).split(',').map(Number);
  return ab! - bb! || ao! - bo!;
}

it('refuses a position that is not a row address', async () => {
  await expect(
    db.transaction((tx) => purgeBatch(tx, target, null, "(1,1)'; drop table x; --", 10)),
  ).rejects.toThrow(/not a row address/);
});

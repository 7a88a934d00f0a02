import postgres from 'postgres';
import { ownerUrl, useTestDatabase } from '../support/db.ts';
import {
  countAuditEntries,
  listAuditEntries,
  TRAIL_SEARCH_TEXT,
} from '#app/modules/audit/trail.server.ts';

// The trail's text search on a large log: a rare word is found through the trigram index
// (drizzle/0026), not by walking every entry, and a common one along seq as before. The entries
// are written straight into the table (the search reads only its columns and body).

useTestDatabase();
const ENTRIES = 60_000;
let owner: postgres.Sql;

beforeAll(async () => {
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
  await owner.unsafe(`
    insert into console.audit_entries (seq, body, occurred_at, action, outcome, user_id)
    select i,
      json_build_object('v', 1, 'seq', i, 'action', a, 'details',
        case when a = 'access.denied'
               then json_build_object('reason', 'no_grant:' || c, 'route', '/users/x/' || c)
             when i % 20011 = 7 then json_build_object('category', c, 'field', 'rare_needle')
             else json_build_object('category', c, 'page', 'list') end)::text,
      timestamptz '2026-01-01' + i * interval '1 second', a,
      case when a = 'access.denied' then 'denied' else 'allowed' end, gen_random_uuid()
    from (select i, case when i % 5 = 0 then 'access.denied' else 'user.view' end as a,
                 (array['profile', 'conversations', 'payments', 'usage', 'preferences'])[1 + i % 7 % 5] as c
          from generate_series(0, ${ENTRIES - 1}) i) s`);
  await owner.unsafe('analyze console.audit_entries');
}, 120_000);
afterAll(async () => {
  await owner?.end();
});

async function plan(term: string) {
  const rows = await owner.unsafe<{ 'QUERY PLAN': string }[]>(
    `explain select seq from console.audit_entries
     where ${TRAIL_SEARCH_TEXT} ilike $1 order by seq desc limit 51`,
    [`%${term}%`],
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('the search on a large trail', () => {
  it('finds a rare word through the trigram index', async () => {
    expect(await plan('rare_needle')).toContain('audit_entries_search_idx');
    expect(await plan('absent_word')).toContain('audit_entries_search_idx');
    const page = await listAuditEntries({ text: 'rare_needle' }, { limit: 50 });
    // seq ≡ 7 (mod 20,011), none of them a refusal (seq ≡ 0 mod 5).
    expect(page.rows.map((r) => r.seq)).toEqual([40_029, 20_018, 7]);
    expect(await countAuditEntries({ text: 'rare_needle' })).toEqual({ count: 3, capped: false });
  });

  it('walks seq for a common word, and counts it only up to the cap', async () => {
    expect(await plan('page')).toContain('audit_entries_pkey');
    expect(await countAuditEntries({ text: 'no_grant' })).toEqual({ count: 1_000, capped: true });
  });
});

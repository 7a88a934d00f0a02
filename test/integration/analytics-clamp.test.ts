import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { addDays, dayOf } from '#app/modules/analytics/periods.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { ownerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';

// Released counts and sums are shown clamped at zero, with their intervals, on the page and in the
// CSV, while the stored release keeps the value as drawn (ADR 029). A drawn value below zero is
// rare on real data (the noise would have to exceed the figure), so the release is inserted here
// as the release job would have stored it: a day of 60 active users whose sums came out negative.

const { sql } = useTestDatabase();
const DATA = '_data=routes%2Fanalytics._index';

let server: TestServer;
let lead: string;
const day = addDays(dayOf(now()), -3);
const range = `from=${addDays(day, -2)}&to=${addDays(day, 2)}`;

// metric → [drawn value, half-width of the 95% interval, low precision]
const DRAWN = {
  dau: [60, 7, false],
  messages: [-45, 100, true],
  conversations: [-140, 45, true],
  tokens: [-250_000, 149_787, true],
} as const;

interface ShownFigure {
  value: number;
  low: number;
  high: number;
  lowPrecision: boolean;
}

beforeAll(async () => {
  server = await startTestServer();
  const staff = await createStaffWithRoles(['support_lead']);
  lead = await signInAs(server.baseUrl, staff.email, staff.password);
  const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
  try {
    const id = randomUUID();
    await owner`
      insert into console.analytics_releases
        (id, kind, dataset, period_start, period_end, epsilon_micros, min_cohort, params, released_at)
      values (${id}, 'daily', 'usage', ${day}, ${addDays(day, 1)}, 1000000, 50, '{}'::jsonb,
              ${now().toISOString()})`;
    for (const [metric, [value, halfWidth, lowPrecision]] of Object.entries(DRAWN)) {
      await owner`
        insert into console.analytics_cells
          (release_id, metric, category, value, half_width, low_precision, cohort)
        values (${id}, ${metric}, '', ${value}, ${halfWidth}, ${lowPrecision}, 60)`;
    }
  } finally {
    await owner.end();
  }
});

afterAll(async () => {
  await server?.close();
});

describe('figures below zero', () => {
  it('the page shows no negative figure and no negative bound; the flag stays', async () => {
    const response = await fetchAs(lead, `/analytics?${range}&${DATA}`);
    expect(response.status).toBe(200);
    const data = (await response.json()) as {
      daily: ({ day: string } & Record<string, ShownFigure | null | string>)[];
    };
    const shown = data.daily.find((d) => d.day === day)!;
    expect(shown.dau).toEqual({ value: 60, low: 53, high: 67, lowPrecision: false });
    expect(shown.messages).toEqual({ value: 0, low: 0, high: 55, lowPrecision: true });
    // Both ends below zero: the whole interval is clamped.
    expect(shown.conversations).toEqual({ value: 0, low: 0, high: 0, lowPrecision: true });
    expect(shown.tokens).toEqual({ value: 0, low: 0, high: 0, lowPrecision: true });
    for (const d of data.daily) {
      for (const f of Object.values(d)) {
        if (f && typeof f === 'object') {
          expect(Math.min(f.value, f.low, f.high)).toBeGreaterThanOrEqual(0);
        }
      }
    }

    // The tables under the charts, and the sentence that says what the band means.
    const html = decodeEntities(
      await (await fetchAs(lead, `/analytics?${range}`)).text(),
    ).replaceAll('<!-- -->', '');
    expect(html).toContain('0 (0 – 55), low precision');
    expect(html).not.toMatch(/[-−]45\b|[-−]140\b|[-−]250,000|[-−]100,213/);
    expect(html).toContain('the range that noise stays within 95 times out of 100');
    expect(html).toContain('never shown below zero');
  });

  it('the CSV holds the clamped figures and intervals', async () => {
    const response = await fetchAs(lead, `/analytics/csv?${range}`);
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    const row = (metric: string) =>
      lines.find((l) => l.startsWith(`daily,${day},${addDays(day, 1)},${metric},`));
    expect(row('dau')).toMatch(/,,60,53,67,false,1,50,/);
    expect(row('messages')).toMatch(/,,0,0,55,true,1,50,/);
    expect(row('conversations')).toMatch(/,,0,0,0,true,1,50,/);
    expect(row('tokens')).toMatch(/,,0,0,0,true,1,50,/);
    // No cell of any row starts with a minus sign (the CSV writer would have quoted it as text).
    expect(lines.slice(1).join('\n')).not.toMatch(/(^|,)'?-\d/m);
  });

  it('the stored release stays as drawn', async () => {
    await fetchAs(lead, `/analytics?${range}&${DATA}`);
    await fetchAs(lead, `/analytics/csv?${range}`);
    const stored = await sql()<{ metric: string; value: number; half_width: number }[]>`
      select c.metric, c.value::int as value, c.half_width
        from console.analytics_cells c
        join console.analytics_releases r on r.id = c.release_id
       where r.kind = 'daily' and r.period_start = ${day}
       order by c.metric`;
    expect(Object.fromEntries(stored.map((s) => [s.metric, [s.value, s.half_width]]))).toEqual(
      Object.fromEntries(Object.entries(DRAWN).map(([m, [v, hw]]) => [m, [v, hw]])),
    );
  });
});

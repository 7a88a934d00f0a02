import type { Browser, Page } from 'playwright-core';
import { inject } from 'vitest';
import { DEMO_STAFF } from '#app/modules/auth/demo-staff.server.ts';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// The analytics page on the demo data: the first build is queued at start-up, so the page first
// shows its empty state and then the releases; recharts draws after hydration, so the test waits
// for the charts' SVG elements.

const baseUrl = inject('baseUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** Opens the page once the first build is through (its last release is the preferences one). */
async function openReleased(page: Page) {
  await expect
    .poll(
      async () => {
        await page.goto(`${baseUrl}/analytics`);
        return page.locator('figure[data-chart="optouts"] figcaption').textContent();
      },
      { timeout: 90_000, interval: 1_000 },
    )
    .toContain('snapshot of');
}

// Figures that drew a chart or say they have nothing to show. Counted per figure: a legend's icons
// are recharts surfaces too, and which series survive k (so get a legend) depends on the noise.
const drawnOrEmpty = (page: Page) => () =>
  page
    .locator('figure[data-chart]')
    .evaluateAll(
      (figures) =>
        figures.filter(
          (f) =>
            f.querySelector('svg.recharts-surface') || f.querySelector('[role="img"] > p.empty'),
        ).length,
    );

describe('/analytics in the browser', () => {
  it('draws every chart from the released figures, passes axe, and its range picker works', async () => {
    const lead = DEMO_STAFF.find((d) => d.role === 'support_lead')!;
    const context = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      reducedMotion: 'reduce',
    });
    const page = await context.newPage();
    const problems = watch(page);
    await signIn(page, baseUrl, lead.email, DEMO_PASSWORD);
    await openReleased(page);

    expect(await page.locator('figure[data-chart]').count()).toBe(10);
    // Every figure draws its chart, or says that everything in the range is below k.
    await expect.poll(drawnOrEmpty(page), { timeout: 15_000 }).toBe(10);
    // No figure, bound or axis tick below zero (ADR 029), in the charts or in their tables.
    const texts = await page
      .locator('figure[data-chart] .recharts-cartesian-axis-tick-value, figure[data-chart] td')
      .allTextContents();
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.filter((t) => /(^|[\s(])[-−]\s?\d/.test(t))).toEqual([]);
    expect(
      await page
        .locator('figure[data-chart]')
        .evaluateAll(
          (figures) => figures.filter((f) => f.querySelector('svg.recharts-surface')).length,
        ),
    ).toBeGreaterThanOrEqual(3); // wau, mau and optouts at least (checked one by one below)
    await expect
      .poll(() => page.locator('figure[data-chart="wau"] .recharts-line-curve').count())
      .toBe(1);
    expect(await page.locator('figure[data-chart="wau"] .recharts-area-area').count()).toBe(1);
    expect(
      await page.locator('figure[data-chart="mau"] .recharts-bar-rectangle').count(),
    ).toBeGreaterThan(0);
    expect(
      await page.locator('figure[data-chart="optouts"] .recharts-bar-rectangle').count(),
    ).toBeGreaterThan(0);
    expect(await page.getByTestId('budget-table').locator('tbody tr').count()).toBeGreaterThan(0);

    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'analytics-lead');

    // The same figures as a table, for screen readers and exact numbers.
    const mau = page.locator('figure[data-chart="mau"]');
    await mau.getByText('The figures as a table').click();
    expect(await mau.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);

    // The date range is a plain GET form.
    const to = await page.getByLabel('To (UTC day, included)').inputValue();
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000)
      .toISOString()
      .slice(0, 10);
    await page.getByLabel('From (UTC day)').fill(from);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('from') === from),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    const csv = page.getByRole('link', { name: 'Download the released figures (CSV)' });
    // The demo's daily figures are above k now: four more charts to draw after the navigation.
    await expect
      .poll(() => csv.getAttribute('href'), { timeout: 15_000 })
      .toBe(`/analytics/csv?from=${from}&to=${to}`);
    await expect.poll(drawnOrEmpty(page), { timeout: 15_000 }).toBe(10);
    expect(await page.locator('figure[data-chart="dau"] tbody tr').count()).toBe(30);
    await screenshot(page, 'analytics-lead-30-days');

    expect(problems).toEqual([]);
    await context.close();
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerBuild } from '@remix-run/node';
import postgres from 'postgres';
import { closeDb } from '#app/db/client.server.ts';
import { runAnalyticsBuild } from '#app/modules/analytics/build.server.ts';
import { addDays, dayOf } from '#app/modules/analytics/periods.server.ts';
import { anyRelease, loadAnalyticsView, parseRange } from '#app/modules/analytics/read.server.ts';
import { enrolTotpDirectly } from '#app/modules/auth/factors.server.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { now } from '#app/modules/clock.server.ts';
import { versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { createHttpApp, listen } from '#app/server/http.server.ts';
import { benchSignIn } from './support/sign-in.ts';
import { benchLogins, benchServer, freshDatabase, log, percentile } from './support/database.ts';

// The analytics page against the raw query it replaces. 10,000,000 usage events (200,000 users ×
// 50; --quick: 500,000) are seeded, every release of the last 190 days is built, then:
// - page_ms: GET /analytics (the server-rendered page of the last 90 days, session check included)
//   through the real HTTP stack when `npx remix build` has been run; loader_ms: the loader's reads
//   in-process;
// - raw_groupby_ms: the daily figures of the same 90 days computed from the events by GROUP BY
//   (only the daily part of what the page shows: a lower bound for the raw way);
// - day_build_s: the incremental run that builds the newest day's contributions and releases it.
// Last line: JSON.

const quick = process.argv.includes('--quick');
const USERS = quick ? 10_000 : 200_000;
const EVENTS_PER_USER = 50;
const RUNS = quick ? 10 : 20;

function median(values: number[]) {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await fn();
  return [value, performance.now() - t];
}

async function pageOverHttp(): Promise<number[] | null> {
  const buildPath = path.resolve('build/index.js');
  if (!fs.existsSync(buildPath)) {
    log('build/index.js is missing: page_ms is the loader in-process (run `npx remix build`)');
    return null;
  }
  const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;
  const app = createHttpApp({ build, secure: false, publicDir: path.resolve('public') });
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const password = `bench-${randomBytes(12).toString('hex')}`;
    const email = `bench-lead-${randomBytes(4).toString('hex')}@staff.test`;
    const { id: leadId } = await createStaff(
      {
        email,
        displayName: 'Bench lead',
        password,
        roles: ['support_lead'],
        mustChangePassword: false,
      },
      commandLine('bench'),
    );
    // A lead needs a second factor (ADR 035): an authenticator app, enrolled as the seed does.
    const secret = await enrolTotpDirectly(leadId, commandLine('bench'));
    const cookie = await benchSignIn(base, email, password, secret);
    const times: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const [response, ms] = await timed(async () => {
        const r = await fetch(`${base}/analytics`, { headers: { cookie } });
        await r.text();
        return r;
      });
      if (response.status !== 200) throw new Error(`bench: /analytics answered ${response.status}`);
      if (i >= 2) times.push(ms); // the first two warm the route module and the pool
    }
    return times;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function main() {
  const server = await benchServer();
  const ring: KeyRing = {
    master: versioned(randomBytes(32)),
    previousMasters: [],
    index: versioned(randomBytes(32)),
  };
  try {
    const url = await freshDatabase(server.adminUrl, 'bench_analytics');
    process.env.DATABASE_URL = (await benchLogins(url)).app;
    log(`seeding ${USERS.toLocaleString('en')} users × ${EVENTS_PER_USER} usage events…`);
    const seeded = await seedProductData(url, ring, {
      users: USERS,
      messagesPerUser: 1,
      eventsPerUser: EVENTS_PER_USER,
      seed: 7,
      append: false,
      log,
    });
    const owner = postgres(url, { max: 1, onnotice: () => {} });
    await owner`vacuum analyze product.usage_events`;
    await owner`vacuum analyze product.data_use_preferences`;

    // Everything up to the day before yesterday, as if the job had been running all along…
    const today = now();
    const yesterday = new Date(today.getTime() - 86_400_000);
    log('building every release of the window up to the day before yesterday…');
    const full = await runAnalyticsBuild({ at: yesterday, log });
    await owner`vacuum analyze console.analytics_contributions`;
    await owner`vacuum analyze console.analytics_contribution_models`;
    // …then the hourly run after midnight: one new day's contributions and its releases.
    log(`incremental build of ${dayOf(yesterday)}…`);
    const day = await runAnalyticsBuild({ at: today, log });
    if (day.days !== 1) throw new Error(`bench: the incremental run built ${day.days} days`);

    const loaderTimes: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const [, ms] = await timed(async () => {
        const parsed = await parseRange(new URLSearchParams());
        const view = await loadAnalyticsView(parsed.range);
        return view.releases > 0 || (await anyRelease());
      });
      if (i >= 2) loaderTimes.push(ms);
    }
    const httpTimes = await pageOverHttp();

    const { range } = await parseRange(new URLSearchParams());
    const rawTimes: number[] = [];
    log(`raw GROUP BY over the events of ${range.from} to ${range.to}…`);
    for (let i = 0; i < 3; i++) {
      const [, ms] = await timed(
        () => owner`
          select date_trunc('day', occurred_at) as day,
                 count(distinct user_id) as users,
                 count(*) filter (where kind = 'message') as messages,
                 count(*) filter (where kind = 'conversation_start') as conversations,
                 sum(tokens) filter (where kind = 'message') as tokens
            from product.usage_events
           where occurred_at >= ${`${range.from}T00:00:00Z`}
             and occurred_at < ${`${addDays(range.to, 1)}T00:00:00Z`}
           group by 1`,
      );
      rawTimes.push(ms);
    }
    const [{ events }] = (await owner`
      select count(*)::bigint::text as events from product.usage_events`) as unknown as [
      { events: string },
    ];
    await owner.end();

    const pageMs = median(httpTimes ?? loaderTimes);
    const rawMs = median(rawTimes);
    const figures = {
      bench: 'analytics',
      users: seeded.users,
      events: Number(events),
      page_ms: Number(pageMs.toFixed(2)),
      page_over: httpTimes ? 'http' : 'loader',
      loader_ms: Number(median(loaderTimes).toFixed(2)),
      raw_groupby_ms: Math.round(rawMs),
      ratio: Math.round(rawMs / pageMs),
      day_build_s: Number(day.seconds.toFixed(2)),
      day_purge_s: Number(day.purgeSeconds.toFixed(2)),
      full_build_s: Number(full.seconds.toFixed(1)),
      full_build_days: full.days,
      releases: full.released,
      seed_s: Number(seeded.seconds.toFixed(1)),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await closeDb();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

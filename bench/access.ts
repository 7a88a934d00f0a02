import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import postgres from 'postgres';
import { decideGrant, requestGrant } from '#app/modules/access/grants.server.ts';
import { findLiveGrant } from '#app/modules/access/live.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { findSignedIn } from '#app/modules/auth/session.server.ts';
import { assignInquiry, createInquiry } from '#app/modules/inquiries/inquiries.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { decryptField, unwrapDataKey } from '#app/modules/crypto/envelope.server.ts';
import type { KeyRing } from '#app/modules/crypto/keys.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { readConversation } from '#app/modules/users/data.server.ts';
import { benchSignIn } from './support/sign-in.ts';
import { benchConsole } from './support/console.ts';
import { httpPhase, newStaff, type Tally } from './support/http-load.ts';
import { log, percentile } from './support/database.ts';

// The JIT access path under load. With 1,000,000 users and 10,000,000 messages (--quick: 20,000
// users), 16 signed-in support agents (lookup limit raised) drive the real HTTP app: (a) exact-email
// lookups, (b) the audited conversation page, each agent with live conversations grants, as a
// document and as the data a client-side navigation fetches. Then the cost of the law, in-process
// at the same concurrency: the page's loader (session, grant check, decryption, audit entry
// committed) against the same data functions alone, the same data functions beside their view's
// committed entry alone (the least law 3 can cost), and each added step alone. The audit
// sequencer runs throughout on its own thread, as in the web process, and every audited call's
// entry is counted at the end. Last line of stdout: one JSON object.

const quick = process.argv.includes('--quick');
const USERS = quick ? 20_000 : 1_000_000;
const MESSAGES_PER_USER = 10;
const CLIENTS = 16;
const LOOKUP_USERS_PER_CLIENT = 200;
const VIEW_USERS_PER_CLIENT = 25;
const HTTP_SECONDS = quick ? 4 : 20;
const LAW_SECONDS = quick ? 8 : 48;
const LAW_ROUNDS = quick ? 2 : 5;
const WARM_SECONDS = quick ? 1 : 3;
const PART_SECONDS = quick ? 1.5 : 5;
const CONVERSATION_ROUTE = 'routes/users.$id.conversations.$conversationId';

// Must be in place before the app first reads its environment, and before React is loaded (with
// the build): measured as deployed, with React's production build unless NODE_ENV says otherwise.
process.env.NODE_ENV ||= 'production';
process.env.CUSTODIAN_LOOKUP_DAILY_LIMIT = '10000000';
process.env.CUSTODIAN_DB_POOL = '24';

/**
 * CUSTODIAN_BENCH_PROFILE=<phase> writes a CPU profile of this process during that phase alone
 * (lookup, view, view_data, loader, bare) to bench-<phase>.cpuprofile, for Chrome DevTools or speedscope.
 */
async function profiled<T>(phase: string, run: () => Promise<T>): Promise<T> {
  if (process.env.CUSTODIAN_BENCH_PROFILE !== phase) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(`bench-${phase}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

function summary(tally: Tally) {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const ms = (v: number) => Math.round(v * 10) / 10;
  return {
    count: sorted.length,
    rps: Math.round((sorted.length / tally.seconds) * 10) / 10,
    p50: ms(percentile(sorted, 50)),
    p95: ms(percentile(sorted, 95)),
    p99: ms(percentile(sorted, 99)),
  };
}

interface Client {
  staffId: string;
  actor: StaffActor;
  cookie: string;
  lookups: string[];
  views: { userId: string; conversationId: string; grantId: string }[];
}

async function inProcess(
  tally: Tally,
  seconds: number,
  call: (client: Client, i: number) => Promise<void>,
  clients: Client[],
) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = c; performance.now() < deadline; i++) {
        const t = performance.now();
        await call(client, i);
        tally.latencies.push(performance.now() - t);
      }
    }),
  );
  tally.seconds += (performance.now() - started) / 1000;
}

// Agents sign in: no second factor (ADR 035), the password alone.
const signIn = (baseUrl: string, email: string, password: string) =>
  benchSignIn(baseUrl, email, password);

/** Users for the run, in id order: their emails decrypted, and one conversation each. */
async function sampleUsers(owner: postgres.Sql, ring: KeyRing) {
  const rows = await owner<
    {
      id: string;
      email_enc: Buffer;
      key_version: number;
      master_key_id: string;
      wrapped_key: Buffer;
      conversation_id: string | null;
    }[]
  >`
    select u.id, u.email_enc, k.key_version, k.master_key_id, k.wrapped_key,
           (select c.id from product.conversations c where c.user_id = u.id
            order by c.updated_at desc, c.id desc limit 1) as conversation_id
    from (select * from product.users order by id limit ${CLIENTS * LOOKUP_USERS_PER_CLIENT}) u
    join product.user_keys k on k.user_id = u.id
    order by u.id`;
  return rows.map((r) => {
    const key = unwrapDataKey(
      {
        userId: r.id,
        keyVersion: r.key_version,
        masterKeyId: r.master_key_id,
        wrappedKey: r.wrapped_key,
      },
      ring,
    );
    return {
      id: r.id,
      email: decryptField(key, 'users.email', r.id, r.email_enc),
      conversationId: r.conversation_id,
    };
  });
}

async function auditedCount(owner: postgres.Sql) {
  const [row] = await owner<{ n: number }[]>`
    select (select count(*) from console.audit_entries)::int
         + (select count(*) from console.audit_intake)::int as n`;
  return row!.n;
}

async function main() {
  const bench = await benchConsole('access');
  const { ring, url, owner, worker } = bench;
  try {
    log(
      `bench access: seeding ${USERS.toLocaleString('en')} users × ${MESSAGES_PER_USER} messages…`,
    );
    const seeded = await seedProductData(url, ring, {
      users: USERS,
      messagesPerUser: MESSAGES_PER_USER,
      eventsPerUser: 10,
      seed: 1,
      append: false,
      log,
    });

    const { baseUrl, build } = await bench.serve();

    log('bench access: staff, sessions and grants…');
    const users = await sampleUsers(owner, ring);
    const viewable = users.filter((u) => u.conversationId !== null);
    if (viewable.length < CLIENTS * VIEW_USERS_PER_CLIENT) throw new Error('too few conversations');
    const lead = await newStaff('support_lead');
    const clients: Client[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const agent = await newStaff('support_agent');
      const views = await Promise.all(
        viewable
          .slice(c * VIEW_USERS_PER_CLIENT, (c + 1) * VIEW_USERS_PER_CLIENT)
          .map(async (u) => {
            const userId = u.id;
            // A support_inquiry grant names the user's open inquiry assigned to the agent (ADR 034).
            const agentActor = await staffActor(agent.id);
            const inquiry = await createInquiry(
              {
                userId,
                subject: 'A conversation stopped loading',
                body: 'The conversation from this morning shows a spinner forever.',
                category: 'account',
              },
              agentActor,
            );
            await assignInquiry(inquiry.id, agent.id, agentActor);
            const { grantId } = await requestGrant({
              requester: agentActor,
              userId,
              inquiryId: inquiry.id,
              categories: ['conversations'],
              reasonCode: 'support_inquiry',
              justification: 'The user reports a conversation that stopped loading in the app',
              ticketRef: 'SUP-2024',
              durationMinutes: 60,
            });
            await decideGrant({
              grantId,
              approver: await staffActor(lead.id),
              decision: 'approve',
              comment: 'Matches the ticket',
            });
            return { userId, conversationId: u.conversationId!, grantId };
          }),
      );
      clients.push({
        staffId: agent.id,
        actor: await staffActor(agent.id, {
          client: { address: '127.0.0.1', userAgent: 'bench/access' },
        }),
        cookie: await signIn(baseUrl, agent.email, agent.password),
        lookups: users
          .slice(c * LOOKUP_USERS_PER_CLIENT, (c + 1) * LOOKUP_USERS_PER_CLIENT)
          .map((u) => u.email),
        views,
      });
    }
    // What the clients will be shown, checked once: a found card, and the conversation.
    const first = clients[0]!;
    const card = await fetch(`${baseUrl}/users?q=${encodeURIComponent(first.lookups[0]!)}`, {
      headers: { cookie: first.cookie },
    });
    if (!(await card.text()).includes('data-testid="user-card"')) {
      throw new Error(`lookup by email found no user (HTTP ${card.status})`);
    }
    const page = await fetch(
      `${baseUrl}/users/${first.views[0]!.userId}/conversations/${first.views[0]!.conversationId}`,
      { headers: { cookie: first.cookie } },
    );
    if (page.status !== 200 || !(await page.text()).includes('data-testid="grant-banner"')) {
      throw new Error(`the conversation page did not open (HTTP ${page.status})`);
    }

    const auditedBefore = await auditedCount(owner);
    let requests = 0;
    const lookupJobs = clients.map((c) => ({
      cookie: c.cookie,
      paths: c.lookups.map((email) => `/users?q=${encodeURIComponent(email)}`),
    }));
    const viewJobs = clients.map((c) => ({
      cookie: c.cookie,
      paths: c.views.map((v) => `/users/${v.userId}/conversations/${v.conversationId}`),
    }));
    log(`bench access: ${CLIENTS} clients, lookups over HTTP for ${HTTP_SECONDS} s…`);
    requests += (await httpPhase(worker, baseUrl, lookupJobs, WARM_SECONDS)).latencies.length;
    const lookups = await profiled('lookup', () =>
      httpPhase(worker, baseUrl, lookupJobs, HTTP_SECONDS),
    );
    log(`bench access: ${CLIENTS} clients, conversation pages over HTTP for ${HTTP_SECONDS} s…`);
    requests += (await httpPhase(worker, baseUrl, viewJobs, WARM_SECONDS)).latencies.length;
    const views = await profiled('view', () => httpPhase(worker, baseUrl, viewJobs, HTTP_SECONDS));
    // The same page as a signed-in browser moves to it: the loader's data alone, no HTML.
    const dataJobs = viewJobs.map((job) => ({
      cookie: job.cookie,
      paths: job.paths.map((p) => `${p}?_data=${encodeURIComponent(CONVERSATION_ROUTE)}`),
    }));
    log(`bench access: ${CLIENTS} clients, the same page's data over HTTP for ${HTTP_SECONDS} s…`);
    requests += (await httpPhase(worker, baseUrl, dataJobs, WARM_SECONDS)).latencies.length;
    const viewData = await profiled('view_data', () =>
      httpPhase(worker, baseUrl, dataJobs, HTTP_SECONDS),
    );
    requests += lookups.latencies.length + views.latencies.length + viewData.latencies.length;

    const loader = build.routes[CONVERSATION_ROUTE]?.module.loader;
    if (!loader) throw new Error(`${CONVERSATION_ROUTE} has no loader`);
    const context = {
      clientAddress: '127.0.0.1',
      userAgent: 'bench/access',
      secure: false,
      nonce: '',
    };
    const viaLoader = async (client: Client, i: number) => {
      const { userId, conversationId } = client.views[i % client.views.length]!;
      const request = new Request(`${baseUrl}/users/${userId}/conversations/${conversationId}`, {
        headers: { cookie: client.cookie },
      });
      const response: unknown = await loader({
        request,
        params: { id: userId, conversationId },
        context,
      });
      if (!(response instanceof Response) || response.status !== 200) {
        throw new Error(`the loader answered ${(response as Response).status}`);
      }
    };
    const bare = async (client: Client, i: number) => {
      const { userId, conversationId } = client.views[i % client.views.length]!;
      if (!(await readConversation(userId, conversationId, { limit: 50 }))) {
        throw new Error('no such conversation');
      }
    };
    // The least law 3 can cost: the same read beside its view's committed audit entry, with no
    // session and no grant check. If this arm alone is too slow, no change to the session or the
    // grant check can bring the loader under the aim.
    const viewEntry = (client: Client, i: number) => {
      const { userId, conversationId, grantId } = client.views[i % client.views.length]!;
      return recordAudit(client.actor, {
        action: 'user.view',
        outcome: 'allowed',
        userId,
        grantId,
        purpose: 'support_inquiry',
        details: { category: 'conversations', page: `conversation:${conversationId}` },
      });
    };
    const auditedBare = async (client: Client, i: number) => {
      const [written, read] = await Promise.allSettled([viewEntry(client, i), bare(client, i)]);
      if (written.status === 'rejected') throw written.reason;
      if (read.status === 'rejected') throw read.reason;
    };
    // Any page reads the session, law or no law: this arm tells laws 2 and 3 from sign-in.
    const signedInBare = async (client: Client, i: number) => {
      const { userId, conversationId } = client.views[i % client.views.length]!;
      const request = new Request(`${baseUrl}/users/${userId}/conversations/${conversationId}`, {
        headers: { cookie: client.cookie },
      });
      if (!(await findSignedIn(request))) throw new Error('signed out');
      await bare(client, i);
    };
    log(`bench access: loader vs data functions, ${LAW_ROUNDS} rounds over ${LAW_SECONDS} s…`);
    const warm: Tally = { latencies: [], seconds: 0 };
    await inProcess(warm, WARM_SECONDS, viaLoader, clients);
    requests += warm.latencies.length;
    await inProcess(warm, WARM_SECONDS, bare, clients);
    // Rounds alternate, so that whatever else the machine does falls on each arm alike.
    const loaderTally: Tally = { latencies: [], seconds: 0 };
    const bareTally: Tally = { latencies: [], seconds: 0 };
    const signedInTally: Tally = { latencies: [], seconds: 0 };
    const auditedTally: Tally = { latencies: [], seconds: 0 };
    const arm = LAW_SECONDS / LAW_ROUNDS / 4;
    for (let round = 0; round < LAW_ROUNDS; round++) {
      await profiled('loader', () => inProcess(loaderTally, arm, viaLoader, clients));
      await profiled('bare', () => inProcess(bareTally, arm, bare, clients));
      await inProcess(signedInTally, arm, signedInBare, clients);
      await inProcess(auditedTally, arm, auditedBare, clients);
    }
    requests += loaderTally.latencies.length + auditedTally.latencies.length;

    // Where the difference goes: each step the law adds to the data functions, alone.
    log(`bench access: the session, grant check and audit write alone, ${PART_SECONDS} s each…`);
    const part = async (step: (client: Client, i: number) => Promise<unknown>) => {
      const tally: Tally = { latencies: [], seconds: 0 };
      await inProcess(tally, PART_SECONDS, async (c, i) => void (await step(c, i)), clients);
      return summary(tally);
    };
    const session = await part(async (client) => {
      const signedIn = await findSignedIn(
        new Request(`${baseUrl}/users`, { headers: { cookie: client.cookie } }),
      );
      if (!signedIn) throw new Error('signed out');
    });
    const grantCheck = await part(async (client, i) => {
      const { userId } = client.views[i % client.views.length]!;
      const live = await findLiveGrant({
        staffId: client.staffId,
        userId,
        category: 'conversations',
      });
      if (!live) throw new Error('no live grant');
    });
    const auditWrite = await part(viewEntry);
    requests += auditWrite.count;

    // Every lookup, page and loader call left exactly one audit entry.
    const audited = (await auditedCount(owner)) - auditedBefore;
    if (audited !== requests) throw new Error(`${audited} audit entries for ${requests} requests`);

    const l = summary(lookups);
    const v = summary(views);
    const vd = summary(viewData);
    const ld = summary(loaderTally);
    const b = summary(bareTally);
    const sb = summary(signedInTally);
    const ab = summary(auditedTally);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'access',
        users: seeded.users,
        messages: seeded.messages,
        clients: CLIENTS,
        node_env: process.env.NODE_ENV,
        lookup_rps: l.rps,
        lookup_p50_ms: l.p50,
        lookup_p95_ms: l.p95,
        lookup_p99_ms: l.p99,
        view_rps: v.rps,
        view_p50_ms: v.p50,
        view_p95_ms: v.p95,
        view_p99_ms: v.p99,
        view_data_rps: vd.rps,
        view_data_p95_ms: vd.p95,
        loader_rps: ld.rps,
        loader_p95_ms: ld.p95,
        bare_rps: b.rps,
        bare_p95_ms: b.p95,
        overhead: Math.round((1 - ld.rps / b.rps) * 1000) / 1000,
        audited_bare_rps: ab.rps,
        overhead_of_the_entry_alone: Math.round((1 - ab.rps / b.rps) * 1000) / 1000,
        signed_in_bare_rps: sb.rps,
        overhead_beyond_sign_in: Math.round((1 - ld.rps / sb.rps) * 1000) / 1000,
        session_rps: session.rps,
        grant_check_rps: grantCheck.rps,
        audit_write_rps: auditWrite.rps,
        audited,
      })}\n`,
    );
  } finally {
    await bench.close();
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});

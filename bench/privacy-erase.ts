import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { resetEnvForTests } from '#app/config.server.ts';
import { closeDb } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { setKeyRing, versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { benchLogins, benchServer, freshDatabase, log } from './support/database.ts';

// Erasure against its raw limit (issue 12's performance section): a user with 100,000 messages
// (--quick: 10,000) is erased through the real job path — a request from the product, proposed
// and approved by two officers, started, carried out by runWork() in its batch transactions with
// the tally, the lease, the check and the signed certificate — (`erase_s`); an identical second
// user's rows go in one plain `DELETE` per table in one transaction (`delete_s`). Aim: at most 2×.
// `measureErasure()` is what bench/privacy.ts calls; run alone, this prints one JSON line.

export interface ErasureFigures {
  messages: number;
  erase_s: number;
  delete_s: number;
  erase_ratio: number;
}

const TABLES = [
  'messages',
  'conversations',
  'usage_events',
  'data_use_preference_changes',
  'data_use_preferences',
  'payment_references',
  'user_keys',
] as const;

/**
 * Seeds two users into the database at `ownerUrl` (migrated; DATABASE_URL must be the app's login
 * on it and the key ring `ring` loaded), gives each `messages` messages, and measures both ways.
 */
export async function measureErasure(options: {
  ownerUrl: string;
  ring: KeyRing;
  messages: number;
}): Promise<ErasureFigures> {
  const { ownerUrl, ring, messages } = options;
  await seedProductData(ownerUrl, ring, {
    users: 2,
    messagesPerUser: 5,
    eventsPerUser: 20,
    seed: 11,
    append: true,
    workers: 0,
  });
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    const pair = await owner<{ id: string }[]>`
      select id from product.users order by created_at desc, id limit 2`;
    const [erased, deleted] = pair.map((r) => r.id) as [string, string];
    log(`giving two users ${messages.toLocaleString('en')} messages each…`);
    for (const userId of [erased, deleted]) {
      // Spread over the user's conversations, with ciphertext-sized contents.
      await owner`
        insert into product.messages
          (id, user_id, conversation_id, role, content_enc, token_count, created_at)
        select gen_random_uuid(), ${userId}, c.ids[1 + g % cardinality(c.ids)],
               (array['user', 'assistant']::product.message_role[])[1 + g % 2],
               decode(repeat(md5(g::text), 6), 'hex'), 40, now() - make_interval(secs => g)
        from generate_series(1, ${messages}) g,
             (select array_agg(id) as ids from product.conversations where user_id = ${userId}) c`;
    }
    await owner`vacuum analyze product.messages`;

    const officers = await Promise.all(
      [1, 2].map(async (n) => {
        const { id } = await createStaff(
          {
            email: `bench-officer-${n}-${randomBytes(4).toString('hex')}@staff.test`,
            displayName: `Bench officer ${n}`,
            password: randomBytes(18).toString('base64url'),
            roles: ['privacy_officer'],
            mustChangePassword: false,
          },
          commandLine('bench'),
        );
        return staffActor(id);
      }),
    );
    const { id } = await createRequest({ userId: erased, type: 'erasure' }, job('api: bench'));
    await moveRequest(id, { kind: 'propose', proposal: 'erasure', note: 'bench' }, officers[0]!);
    await moveRequest(id, { kind: 'approve' }, officers[1]!);
    await moveRequest(id, { kind: 'start' }, officers[0]!);

    log('erasing the first through the job…');
    const started = performance.now();
    const outcome = await runWork(id);
    const eraseS = (performance.now() - started) / 1000;
    if (outcome !== 'done') throw new Error(`bench: the erasure ended ${outcome}`);

    log('deleting the second with plain DELETEs…');
    const t0 = performance.now();
    await owner.begin(async (tx) => {
      for (const table of TABLES) {
        await tx`delete from ${tx('product')}.${tx(table)} where user_id = ${deleted}`;
      }
      await tx`delete from product.users where id = ${deleted}`;
    });
    const deleteS = (performance.now() - t0) / 1000;
    return {
      messages,
      erase_s: Number(eraseS.toFixed(3)),
      delete_s: Number(deleteS.toFixed(3)),
      erase_ratio: Number((eraseS / deleteS).toFixed(2)),
    };
  } finally {
    await owner.end();
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const server = await benchServer();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-erase-'));
  process.env.CUSTODIAN_DATA_DIR = dataDir;
  resetEnvForTests();
  const ring: KeyRing = {
    master: versioned(randomBytes(32)),
    previousMasters: [],
    index: versioned(randomBytes(32)),
  };
  setKeyRing(ring);
  try {
    const url = await freshDatabase(server.adminUrl, 'bench_privacy_erase');
    process.env.DATABASE_URL = (await benchLogins(url)).app;
    const figures = await measureErasure({
      ownerUrl: url,
      ring,
      messages: quick ? 10_000 : 100_000,
    });
    process.stdout.write(`${JSON.stringify({ bench: 'privacy-erase', ...figures })}\n`);
  } finally {
    await closeDb();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

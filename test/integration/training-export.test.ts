import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { job } from '#app/modules/actor.ts';
import { createRequest } from '#app/modules/privacy/requests.server.ts';
import { writeTrainingExport } from '#app/modules/privacy/training.server.ts';
import { readAudit } from '../support/audit.ts';
import { sequencerUrl, useTestDatabase } from '../support/db.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// Issue 12: `npx custodian training-export --out FILE` writes the conversations the service may
// train on, leaving out whoever opted out of or objected to training, asked for erasure, or was
// erased (ADR 027); audited with counts only.

useTestDatabase();
let owner: postgres.Sql;
let users: PlainUser[];
let dir: string;
const PRODUCT = job('api: product');

interface Line {
  conversation: string;
  model: string;
  messages: { role: string; content: string }[];
}

const readLines = (file: string): Line[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

let optedOut: string;
let objecting: string;
let restrictedOtherwise: string;
let erasing: string;
let erased: string;

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'training-export-'));
  const id = (i: number) => users[i]!.id;
  [optedOut, objecting, restrictedOtherwise, erasing, erased] = [id(0), id(1), id(2), id(3), id(4)];
  await owner`delete from product.data_use_preferences where purpose = 'training'`;
  await owner`insert into product.data_use_preferences
              values (${optedOut}, 'training', false, now())`;
  // An objection not yet carried out counts: training waits for it.
  await createRequest(
    {
      userId: objecting,
      type: 'objection',
      details: { purposes: ['training'], grounds: 'No' },
    },
    PRODUCT,
  );
  await createRequest(
    { userId: restrictedOtherwise, type: 'restriction', details: { purposes: ['marketing'] } },
    PRODUCT,
  );
  await createRequest({ userId: erasing, type: 'erasure' }, PRODUCT);
  // Erased: profile and key gone. Should any message row be left behind, it is still left out.
  await owner`delete from product.user_keys where user_id = ${erased}`;
  await owner`delete from product.users where id = ${erased}`;
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await owner.end();
});

async function conversationsByUser() {
  const rows = await owner<{ id: string; user_id: string; messages: number }[]>`
    select c.id, c.user_id, (select count(*)::int from product.messages m
                              where m.conversation_id = c.id) as messages
    from product.conversations c`;
  return new Map(rows.map((r) => [r.id, r]));
}

test('leaves out opted-out, objecting, erasing and erased users; keeps everyone else whole', async () => {
  const file = path.join(dir, 'train.jsonl');
  const result = await writeTrainingExport(file, job('test'));
  const lines = readLines(file);
  const byId = await conversationsByUser();
  const left = new Set([optedOut, objecting, erasing, erased]);
  const exported = new Set(lines.map((l) => byId.get(l.conversation)!.user_id));
  for (const id of left) expect(exported.has(id), id).toBe(false);
  expect(exported.has(restrictedOtherwise)).toBe(true);
  // Every conversation of every other user, each with all its messages.
  const expected = [...byId.values()].filter((c) => !left.has(c.user_id) && c.messages > 0);
  expect(lines.map((l) => l.conversation).sort()).toEqual(expected.map((c) => c.id).sort());
  for (const line of lines) {
    expect(line.messages).toHaveLength(byId.get(line.conversation)!.messages);
    expect(line.messages.every((m) => typeof m.content === 'string' && m.content.length > 0)).toBe(
      true,
    );
  }
  expect(result).toMatchObject({
    conversations: lines.length,
    messages: lines.reduce((n, l) => n + l.messages.length, 0),
    users: exported.size,
  });
  expect(result.excludedUsers).toBeGreaterThanOrEqual(3);
  // No user ids in the file.
  const text = fs.readFileSync(file, 'utf8');
  for (const u of users) expect(text).not.toContain(u.id);

  const audit = (await readAudit()).filter((e) => e.action === 'export.training');
  expect(audit).toHaveLength(1);
  expect(audit[0]!.details).toEqual({
    conversations: result.conversations,
    messages: result.messages,
    users: result.users,
    excludedUsers: result.excludedUsers,
  });
});

test('a user who opts out later is left out of the next export', async () => {
  const file = path.join(dir, 'again.jsonl');
  const next = users[6]!.id;
  const before = await writeTrainingExport(file, job('test'));
  await owner`insert into product.data_use_preferences values (${next}, 'training', false, now())
              on conflict (user_id, purpose) do update set allowed = false`;
  const after = await writeTrainingExport(file, job('test'));
  const byId = await conversationsByUser();
  expect(readLines(file).some((l) => byId.get(l.conversation)!.user_id === next)).toBe(false);
  expect(after.users).toBe(before.users - 1);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
});

test('npx custodian training-export --out FILE, as operators run it', { timeout: 180_000 }, () => {
  const url = process.env.DATABASE_URL!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'training-cli-'));
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['bin/custodian.mjs', ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        DATABASE_URL: url,
        CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(url),
        CUSTODIAN_DATA_DIR: dataDir,
        // The test key ring's keys (test/support/db.ts).
        CUSTODIAN_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
        CUSTODIAN_INDEX_KEY: Buffer.alloc(32, 2).toString('base64'),
      },
      timeout: 150_000,
    });
  try {
    const missing = run(['training-export']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--out/);
    const file = path.join(dataDir, 'cli.jsonl');
    const done = run(['training-export', '--out', file]);
    expect(done.stderr).not.toMatch(/error/i);
    expect(done.status).toBe(0);
    expect(done.stdout).toMatch(/Wrote \d+ conversations/);
    expect(readLines(file).length).toBeGreaterThan(0);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

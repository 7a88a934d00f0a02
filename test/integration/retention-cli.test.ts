import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { RETENTION_CATEGORIES } from '#app/modules/retention/vocabulary.ts';
import { createTestDatabase, ownerUrl, sequencerUrl } from '../support/db.ts';

// `npx custodian retention plan [--json]` and `retention run`, run as operators run them: a child
// process on a migrated database with no server running (like `migrate`).

let url: string;
let dataDir: string;
const keys = {
  CUSTODIAN_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
  CUSTODIAN_INDEX_KEY: Buffer.alloc(32, 6).toString('base64'),
};

function cli(args: string[]) {
  const result = spawnSync(process.execPath, ['bin/custodian.mjs', ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      DATABASE_URL: url,
      CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(url),
      CUSTODIAN_DATA_DIR: dataDir,
      ...keys,
    },
    timeout: 180_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  url = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-retention-cli-'));
});
afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npx custodian retention', { timeout: 600_000 }, () => {
  it('plans (a dry run naming every category), then runs what it planned', async () => {
    const owner = postgres(ownerUrl(url), { max: 1, onnotice: () => {} });
    try {
      const user = randomUUID();
      const old = new Date(Date.now() - 800 * 86_400_000).toISOString();
      for (let i = 0; i < 3; i++) {
        await owner`insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
          values (${randomUUID()}, ${user}, ${randomUUID()}, 'user', ${randomBytes(8)}, 1, ${old})`;
      }
      const plan = cli(['retention', 'plan', '--json']);
      expect(plan.status, plan.stderr).toBe(0);
      const last = JSON.parse(plan.stdout.trim().split('\n').at(-1)!) as {
        categories: { category: string; cutoff: string; count: number }[];
      };
      expect(last.categories.map((c) => c.category).sort()).toEqual(
        [...RETENTION_CATEGORIES].sort(),
      );
      for (const line of last.categories) {
        expect(Object.keys(line).sort()).toEqual(['category', 'count', 'cutoff']);
        expect(new Date(line.cutoff).toISOString()).toBe(line.cutoff);
      }
      expect(last.categories.find((c) => c.category === 'messages')!.count).toBe(3);
      // A dry run: nothing went.
      const [still] =
        await owner`select count(*)::int as n from product.messages where user_id = ${user}`;
      expect(still!.n).toBe(3);

      const readable = cli(['retention', 'plan']);
      expect(readable.status, readable.stderr).toBe(0);
      expect(readable.stdout).toMatch(/^messages\s+3\s+older than/m);

      const run = cli(['retention', 'run']);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^messages\s+3 removed/m);
      const [gone] =
        await owner`select count(*)::int as n from product.messages where user_id = ${user}`;
      expect(gone!.n).toBe(0);
      const audited = await owner<{ body: string }[]>`
        select body from console.audit_entries where action = 'retention.purge'`;
      expect(audited).toHaveLength(RETENTION_CATEGORIES.length);
      expect(audited.map((a) => JSON.parse(a.body).actor)).not.toContain(undefined);

      const wrong = cli(['retention', 'purge']);
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toContain('retention takes plan or run');
    } finally {
      await owner.end();
    }
  });
});

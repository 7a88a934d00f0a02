import fs from 'node:fs';
import path from 'node:path';

// drizzle's migrator applies a migration only when its journal time is later than the last one
// applied: branches that each add a migration and merge can leave a later migration with an
// earlier time, which an existing database then skips without a word. The journal must stay in
// order, one file per entry, and the snapshots in one chain.

const root = path.resolve(__dirname, '../..');
const journal = JSON.parse(
  fs.readFileSync(path.join(root, 'drizzle/meta/_journal.json'), 'utf8'),
) as { entries: { idx: number; when: number; tag: string }[] };

describe('the migration journal', () => {
  test('entries are numbered in order, their times increase, each has its SQL file', () => {
    journal.entries.forEach((e, i) => {
      expect(e.idx, e.tag).toBe(i);
      expect(e.tag.startsWith(String(i).padStart(4, '0') + '_'), e.tag).toBe(true);
      expect(fs.existsSync(path.join(root, 'drizzle', `${e.tag}.sql`)), e.tag).toBe(true);
      if (i > 0) expect(e.when, e.tag).toBeGreaterThan(journal.entries[i - 1]!.when);
    });
    const files = fs.readdirSync(path.join(root, 'drizzle')).filter((f) => f.endsWith('.sql'));
    expect(files.sort()).toEqual(journal.entries.map((e) => `${e.tag}.sql`).sort());
  });

  test('the snapshots form one chain: no two share a parent', () => {
    const dir = path.join(root, 'drizzle/meta');
    const snapshots = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('_snapshot.json'))
      .map(
        (f) =>
          JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { id: string; prevId: string },
      );
    const parents = snapshots.map((s) => s.prevId);
    expect(new Set(parents).size).toBe(parents.length);
    expect(new Set(snapshots.map((s) => s.id)).size).toBe(snapshots.length);
  });
});

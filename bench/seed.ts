import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeCluster, startEmbeddedPostgres } from '#app/db/embedded.server.ts';
import { versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { loadCopyFiles } from '#app/modules/seed/load.server.ts';
import { generateSeedFiles, seedProductData } from '#app/modules/seed/seed.server.ts';
import { dropDatabase, freshDatabase, log } from './support/database.ts';

// Seeds 1,000,000 users × 10 messages × 10 usage events (a tenth with --quick) into a fresh
// database, then measures the limit: the same rows, generated into files beforehand (untimed),
// loaded with plain COPY into another fresh database. Both loads use the same index strategy:
// indexes dropped before the COPY and rebuilt before the commit. The last line of stdout is JSON.

const quick = process.argv.includes('--quick');
const USERS = quick ? 100_000 : 1_000_000;
const PER_USER = 10;
const SEED = 1;

async function main() {
  log(execFileSync('df', ['-h', os.tmpdir()], { encoding: 'utf8' }).trim());
  const { bavail, bsize } = fs.statfsSync(os.tmpdir());
  const needGb = quick ? 3 : 25;
  if ((bavail * bsize) / 1e9 < needGb) {
    throw new Error(`bench seed: needs about ${needGb} GB free in ${os.tmpdir()}`);
  }

  const ring: KeyRing = {
    master: versioned(randomBytes(32)),
    previousMasters: [],
    index: versioned(randomBytes(32)),
  };
  const suffix = randomBytes(4).toString('hex');
  const seedDb = `custodian_bench_seed_${suffix}`;
  const copyDb = `custodian_bench_copy_${suffix}`;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        log(`bench seed: cleanup failed: ${String(error)}`);
      }
    }
  };
  try {
    let adminUrl = process.env.DATABASE_URL;
    if (!adminUrl) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-seed-'));
      cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      const pg = await startEmbeddedPostgres({ dataDir, log });
      cleanups.push(async () => {
        await pg.stop();
        removeCluster(pg.home);
      });
      adminUrl = pg.url;
    }

    const seedUrl = await freshDatabase(adminUrl, seedDb);
    cleanups.push(() => dropDatabase(adminUrl, seedDb));
    log(`bench seed: seeding ${USERS.toLocaleString('en')} users into ${seedDb}`);
    const seeded = await seedProductData(seedUrl, ring, {
      users: USERS,
      messagesPerUser: PER_USER,
      eventsPerUser: PER_USER,
      seed: SEED,
      append: false,
      log,
    });
    // Free the disk (and the page cache) for the second load.
    await dropDatabase(adminUrl, seedDb);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-seed-files-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    log(`bench seed: generating the same rows into ${dir} (not timed)`);
    const generated = await generateSeedFiles(dir, ring, {
      users: USERS,
      messagesPerUser: PER_USER,
      eventsPerUser: PER_USER,
      seed: SEED,
      log,
    });
    const bytes = Object.values(generated.files).reduce((n, f) => n + fs.statSync(f).size, 0);
    log(`bench seed: ${(bytes / 1e9).toFixed(2)} GB of COPY text`);

    const copyUrl = await freshDatabase(adminUrl, copyDb);
    cleanups.push(() => dropDatabase(adminUrl, copyDb));
    log(`bench seed: loading the files with plain COPY into ${copyDb}`);
    const started = performance.now();
    await loadCopyFiles(copyUrl, generated.files, { dropIndexes: true, log });
    const copySeconds = (performance.now() - started) / 1000;

    await cleanup();
    const round = (s: number) => Math.round(s * 10) / 10;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'seed',
        users: seeded.users,
        messages: seeded.messages,
        events: seeded.events,
        seconds: round(seeded.seconds),
        copy_seconds: round(copySeconds),
      })}\n`,
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});

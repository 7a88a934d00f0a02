// A worker process that runs the retention purge and may be killed mid-way (the purge's kill -9
// test): `node --import tsx test/support/retention-child.ts <batch size> <category…>`, with
// DATABASE_URL (the app's login).
import { closeDb } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { runRetention } from '#app/modules/retention/engine.server.ts';
import { RETENTION_CATEGORIES, type RetentionCategory } from '#app/modules/retention/vocabulary.ts';

const [size, ...categories] = process.argv.slice(2);
const only = categories.filter((c): c is RetentionCategory =>
  (RETENTION_CATEGORIES as readonly string[]).includes(c),
);
const result = await runRetention({
  trigger: 'schedule',
  actor: job('retention.purge'),
  batchSize: Number(size),
  only,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
await closeDb();

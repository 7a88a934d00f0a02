// The retention purge in a process of its own, as a `custodian worker` runs it beside the web
// process (CUSTODIAN_WORKERS=0 on the web process): `node --import tsx
// bench/support/retention-process.ts` with DATABASE_URL (the app's login). Prints `ready`, waits
// for `go` on stdin, runs the purge of the categories in CUSTODIAN_RETENTION_ONLY (comma-separated),
// then prints its summary as one JSON line with the milliseconds it took, and exits.
import { closeDb } from '#app/db/client.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { runRetention } from '#app/modules/retention/engine.server.ts';
import { RETENTION_CATEGORIES, type RetentionCategory } from '#app/modules/retention/vocabulary.ts';

const only = (process.env.CUSTODIAN_RETENTION_ONLY ?? '')
  .split(',')
  .filter((c): c is RetentionCategory => (RETENTION_CATEGORIES as readonly string[]).includes(c));
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const started = performance.now();
  runRetention({ trigger: 'command', actor: commandLine('bench retention'), only })
    .then(async (run) => {
      const ms = performance.now() - started;
      process.stdout.write(`${JSON.stringify({ ms, run })}\n`);
      await closeDb();
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
});

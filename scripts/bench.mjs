#!/usr/bin/env node
// `npm run bench -- <name> [--quick]`: runs bench/<name>.ts. Each benchmark measures our work and
// its raw PostgreSQL limit in the same run and prints one JSON object as its last line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const [name, ...rest] = process.argv.slice(2);
const available = fs.existsSync('bench')
  ? fs
      .readdirSync('bench')
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  process.stderr.write(
    `Usage: npm run bench -- <name> [--quick]\nBenchmarks: ${available.join(', ')}\n`,
  );
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...rest], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);

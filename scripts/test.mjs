#!/usr/bin/env node
// `npm test`: type-check, lint, build, the vitest suites against real PostgreSQL, then the browser
// suite in Debian's Chromium. Stops at the first failing step; ends with one "N passed, N failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const totals = { passed: 0, failed: 0, skipped: 0 };

function step(name, command, args) {
  process.stdout.write(`\n▶ ${name}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    process.stdout.write(
      `\n✖ ${name} failed\n${totals.passed} passed, ${totals.failed + 1} failed\n`,
    );
    process.exit(result.status ?? 1);
  }
}

function count(file) {
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + (report.numTodoTests ?? 0);
}

if (!fs.existsSync(chromium)) {
  process.stderr.write(
    `Chromium is missing at ${chromium}: the browser suite needs Debian's package \`chromium\` ` +
      '(apt-get update && apt-get install -y chromium), or CHROMIUM_PATH pointing at a Chromium.\n',
  );
  process.exit(1);
}
fs.mkdirSync('test-results', { recursive: true });
const bin = (name) => `node_modules/.bin/${name}`;
step('type-check', bin('tsc'), ['--noEmit']);
step('lint', bin('eslint'), ['.']);
step('format', bin('prettier'), ['--check', '.']);
step('build', bin('remix'), ['build']);
step('unit and integration tests (vitest, real PostgreSQL)', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  '--outputFile.json=test-results/vitest.json',
]);
count('test-results/vitest.json');
step('browser tests (Chromium)', bin('vitest'), [
  'run',
  '-c',
  'vitest.browser.config.ts',
  '--reporter=default',
  '--reporter=json',
  '--outputFile.json=test-results/browser.json',
]);
count('test-results/browser.json');
process.stdout.write(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`,
);
process.exit(totals.failed ? 1 : 0);

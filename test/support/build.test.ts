import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFreshBuild, staleBuildReason } from './build.ts';

// The build the integration tests import is never older than app/: checked on a checkout made of
// temporary files, with a stand-in `remix` that records each build.

let root: string;
const at = (file: string) => path.join(root, file);
const builds = () =>
  fs.existsSync(at('builds.log')) ? fs.readFileSync(at('builds.log'), 'utf8') : '';

/** Writes a file as modified `secondsAgo` (a new file's folder with it, as creating one does). */
function write(file: string, text: string, secondsAgo: number) {
  const isNew = !fs.existsSync(at(file));
  fs.mkdirSync(path.dirname(at(file)), { recursive: true });
  fs.writeFileSync(at(file), text);
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(at(file), t, t);
  if (isNew) fs.utimesSync(path.dirname(at(file)), t, t);
}

function age(file: string, secondsAgo: number) {
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(at(file), t, t);
}

/** A stand-in for node_modules/.bin/remix: writes build/index.js, or fails when told to. */
function fakeRemix(exitCode: number) {
  write(
    'node_modules/.bin/remix',
    `#!/bin/sh\necho built >> "${at('builds.log')}"\n` +
      (exitCode === 0
        ? `mkdir -p "${at('build')}" && echo "export {}" > "${at('build/index.js')}"\n`
        : `echo "app/routes/x.tsx: syntax error" >&2\n`) +
      `exit ${exitCode}\n`,
    0,
  );
  fs.chmodSync(at('node_modules/.bin/remix'), 0o755);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-build-test-'));
  write('remix.config.js', 'export default {}', 100);
  write('package.json', '{}', 100);
  write('app/routes/_index.tsx', 'export default 1', 100);
  write('app/modules/a/a.server.ts', 'export const a = 1', 100);
  write('build/index.js', 'export {}', 50);
  for (const folder of ['app', 'app/routes', 'app/modules', 'app/modules/a']) age(folder, 100);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('staleBuildReason', () => {
  it('is undefined while the build is newer than every input', () => {
    expect(staleBuildReason(root)).toBeUndefined();
  });

  it('names a missing build', () => {
    fs.rmSync(at('build'), { recursive: true });
    expect(staleBuildReason(root)).toBe('build/index.js is missing');
  });

  it('names an edited route, module or config', () => {
    write('app/routes/_index.tsx', 'export default 2', 10);
    expect(staleBuildReason(root)).toBe('app/routes/_index.tsx changed after build/index.js');
    write('app/routes/_index.tsx', 'export default 2', 100);
    write('remix.config.js', 'export default { x: 1 }', 10);
    expect(staleBuildReason(root)).toBe('remix.config.js changed after build/index.js');
  });

  it('sees a file deleted or added through its folder', () => {
    fs.rmSync(at('app/modules/a/a.server.ts'));
    expect(staleBuildReason(root)).toBe('app/modules/a changed after build/index.js');
  });

  it('ignores test files, which the build leaves out', () => {
    write('app/modules/a/a.test.ts', 'test', 100);
    write('app/modules/a/a.test.ts', 'test, edited', 10);
    expect(staleBuildReason(root)).toBeUndefined();
  });
});

describe('ensureFreshBuild', () => {
  it('builds nothing when the build is current', () => {
    fakeRemix(0);
    ensureFreshBuild(root, () => {});
    expect(builds()).toBe('');
  });

  it('rebuilds a stale build once, and then it is current', () => {
    fakeRemix(0);
    write('app/routes/_index.tsx', 'export default 2', 10);
    const lines: string[] = [];
    ensureFreshBuild(root, (line) => lines.push(line));
    ensureFreshBuild(root, (line) => lines.push(line));
    expect(builds()).toBe('built\n');
    expect(lines).toEqual([
      'Rebuilding the server build for the tests (app/routes/_index.tsx changed after build/index.js): remix build',
    ]);
    expect(staleBuildReason(root)).toBeUndefined();
  });

  it('fails, with the build’s output, when the build fails', () => {
    fakeRemix(1);
    fs.rmSync(at('build'), { recursive: true });
    expect(() => ensureFreshBuild(root, () => {})).toThrow(
      /`remix build` failed \(exit 1\)[\s\S]*app\/routes\/x\.tsx: syntax error/,
    );
    expect(staleBuildReason(root)).toBe('build/index.js is missing');
  });
});

import fs from 'node:fs';

// What the browser build may hold (ADR 016), read from the metafile `remix build` writes beside the
// server build: zod stays on the server, recharts only in the analytics page's chunk. The sizes
// themselves are `npm run bench -- client`.

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

const metafile = JSON.parse(fs.readFileSync('build/metafile.js.json', 'utf8')) as Metafile;
const scripts = Object.entries(metafile.outputs).filter(([out]) => out.endsWith('.js'));
const holding = (pkg: string) =>
  scripts
    .filter(([, o]) => Object.keys(o.inputs).some((i) => i.includes(`node_modules/${pkg}/`)))
    .map(([out]) => out.replace(/-[A-Z0-9]{8}\.js$/, ''));

describe('the browser build', () => {
  it('holds no zod: schemas are parsed by loaders and actions, in *.server.ts modules', () => {
    expect(holding('zod')).toEqual([]);
  });

  it('holds recharts only in the analytics page', () => {
    expect(holding('recharts')).toEqual(['public/build/routes/analytics._index']);
  });
});

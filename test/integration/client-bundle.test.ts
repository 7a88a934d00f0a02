import fs from 'node:fs';

// What the browser build may hold (ADR 016), read from the metafile `remix build` writes beside the
// server build: zod stays on the server, recharts only in the chunks of the pages that chart. The sizes
// themselves are `npm run bench -- client`.

interface Metafile {
  outputs: Record<
    string,
    { inputs: Record<string, unknown>; imports?: { path: string; kind: string }[] }
  >;
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

  it('holds recharts only in the pages that chart (analytics, privacy metrics)', () => {
    const charting = [
      'public/build/routes/analytics._index',
      'public/build/routes/privacy.metrics',
    ];
    // A chunk the two share is imported by them alone.
    const importers = (chunk: string) =>
      scripts
        .filter(([, o]) => (o.imports ?? []).some((i) => i.path === chunk))
        .map(([out]) => out.replace(/-[A-Z0-9]{8}\.js$/, ''));
    for (const [out, o] of scripts) {
      if (!Object.keys(o.inputs).some((i) => i.includes('node_modules/recharts/'))) continue;
      const name = out.replace(/-[A-Z0-9]{8}\.js$/, '');
      if (charting.includes(name)) continue;
      expect(name, out).toMatch(/_shared\/chunk$/);
      expect(
        importers(out).filter((i) => !charting.includes(i)),
        out,
      ).toEqual([]);
    }
    expect(holding('recharts').length).toBeGreaterThan(0);
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

// What each page ships to the browser. Builds for production, reads the assets manifest that the
// classic compiler writes (public/build/manifest-*.js), gzips every script it names (node:zlib,
// default level) and sums, deduplicated:
// - shared_kb: what every page loads — the entry module and its imports, the root route's module
//   and its imports;
// - per route: the shared scripts plus the module and imports of every ancestor route (Remix loads
//   all matched parents) and of the route itself;
// - max_page_kb: the largest page but the analytics page; analytics_kb: the analytics page.
// A resource route (a CSV) counts like a page: nested under a page, it is that page plus an empty
// module.
// There is no raw PostgreSQL limit for this benchmark: it measures bytes, not the database. The aim
// (ADR 016) is at most 100 KB for every page but the analytics page. --quick is accepted and does
// the same (the build takes seconds). Last line: JSON.

const ANALYTICS_ROUTE = 'routes/analytics._index';
const AIM_KB = 100;
const WORST_SHOWN = 5;

interface ManifestRoute {
  id: string;
  parentId?: string;
  module: string;
  imports?: string[];
}
interface AssetsManifest {
  entry: { module: string; imports: string[] };
  routes: Record<string, ManifestRoute>;
}

function readManifest(buildDir: string): AssetsManifest {
  const name = fs.readdirSync(buildDir).find((f) => /^manifest-[A-Z0-9]+\.js$/.test(f));
  if (!name) throw new Error(`no manifest-*.js in ${buildDir}`);
  const source = fs.readFileSync(path.join(buildDir, name), 'utf8');
  const json = source.replace(/^window\.__remixManifest=/, '').replace(/;\s*$/, '');
  return JSON.parse(json) as AssetsManifest;
}

function kb(bytes: number) {
  return Number((bytes / 1024).toFixed(1));
}

function main() {
  execFileSync('npx', ['remix', 'build'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const publicDir = path.resolve('public');
  const manifest = readManifest(path.join(publicDir, 'build'));

  const gzipped = new Map<string, number>();
  const sizeOf = (url: string) => {
    let size = gzipped.get(url);
    if (size === undefined) {
      // URLs are /build/…; the files sit under public/.
      size = gzipSync(fs.readFileSync(path.join(publicDir, url))).length;
      gzipped.set(url, size);
    }
    return size;
  };
  const total = (urls: Set<string>) => [...urls].reduce((sum, url) => sum + sizeOf(url), 0);
  const scriptsOf = (route: ManifestRoute) => [route.module, ...(route.imports ?? [])];

  const root = manifest.routes.root;
  if (!root) throw new Error('the manifest has no root route');
  const shared = new Set([manifest.entry.module, ...manifest.entry.imports, ...scriptsOf(root)]);

  const pages: { route: string; bytes: number }[] = [];
  for (const route of Object.values(manifest.routes)) {
    if (route.id === 'root') continue;
    const urls = new Set(shared);
    for (
      let r: ManifestRoute | undefined = route;
      r;
      r = r.parentId ? manifest.routes[r.parentId] : undefined
    ) {
      for (const url of scriptsOf(r)) urls.add(url);
    }
    pages.push({ route: route.id, bytes: total(urls) });
  }
  pages.sort((a, b) => b.bytes - a.bytes);

  const analytics = pages.find((p) => p.route === ANALYTICS_ROUTE);
  const worst = pages.find((p) => p.route !== ANALYTICS_ROUTE);
  if (!analytics || !worst)
    throw new Error(`no ${ANALYTICS_ROUTE} or no other route in the manifest`);

  process.stdout.write(`shared (entry + root): ${kb(total(shared))} KB gzip\n`);
  process.stdout.write(
    `largest pages (gzip KB, shared included; aim ≤ ${AIM_KB} but analytics):\n`,
  );
  for (const page of pages.slice(0, WORST_SHOWN + 1)) {
    process.stdout.write(`  ${kb(page.bytes).toFixed(1).padStart(6)}  ${page.route}\n`);
  }
  const figures = {
    bench: 'client',
    shared_kb: kb(total(shared)),
    max_page_kb: kb(worst.bytes),
    max_page: worst.route,
    analytics_kb: kb(analytics.bytes),
    routes: pages.length,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main();

// custodian/layers: the direction of dependencies (ADR 009), judged on the import's specifier as
// written (`#app/…` or relative), so an import that does not resolve is judged all the same —
// plugin rules that work on resolved paths skip those silently.
//
//   routes → components → modules → db      (utils: below modules, except the HTTP helpers)
//
// - app/db/ imports from app/modules/ only vocabulary files (`vocabulary.ts`).
// - app/modules/ never imports routes, components, the HTTP layer (app/server/) or the helpers
//   that speak HTTP (utils/guard, utils/http, utils/grant-problem), nor app/root.tsx.
// - app/components/ never imports routes.
// - Browser code (components, and every file that is neither a route module, app/root.tsx nor
//   `*.server.*`) never imports `*.server` code.
// - The capabilities under app/modules/ form no cycle: an import from capability A to B is an
//   error when B already reaches A through imports of its own files.
import fs from 'node:fs';
import path from 'node:path';

const HTTP_HELPERS = [
  'app/utils/guard.server',
  'app/utils/http.server',
  'app/utils/grant-problem.server',
];
const SOURCE = /\.(m?[jt]sx?)$/;

function posix(p) {
  return p.split(path.sep).join('/');
}

/** The import's target, relative to the project root, without extension; null for a package. */
export function targetOf(specifier, fromFile, root) {
  if (specifier.startsWith('#app/')) return stripExt(`app/${specifier.slice('#app/'.length)}`);
  if (specifier.startsWith('.')) {
    const abs = path.resolve(path.dirname(fromFile), specifier);
    return stripExt(posix(path.relative(root, abs)));
  }
  return null;
}

function stripExt(p) {
  return p.replace(SOURCE, '');
}

function capabilityOf(rel) {
  const m = /^app\/modules\/([^/]+)\//.exec(rel);
  return m ? m[1] : null;
}

const isServer = (rel) => /\.server(\.|$)/.test(rel) || /\/[^/]*\.server\//.test(rel);
const isRoute = (rel) => rel.startsWith('app/routes/');
// `.mjs` files under app/ are Node entry points of worker threads, never in the browser build.
const isBrowserCode = (rel, ext) =>
  ext !== '.mjs' &&
  rel.startsWith('app/') &&
  !isRoute(rel) &&
  !isServer(rel) &&
  !/^app\/(root|entry\.server)$/.test(rel) &&
  !rel.startsWith('app/server/') &&
  !/\.test$/.test(rel);

/**
 * Why `from` may not import `to` (both relative to the root, without extension), or null.
 * `typeOnly` imports vanish from the build; `ext` is the importing file's extension.
 */
export function layerProblem(from, to, { typeOnly = false, ext = '.ts' } = {}) {
  if (from.startsWith('app/db/') && to.startsWith('app/modules/')) {
    if (!/\/vocabulary$/.test(to)) {
      return `app/db/ may import only the vocabulary files of app/modules/, not ${to}`;
    }
  }
  if (from.startsWith('app/db/')) {
    for (const up of ['app/routes/', 'app/components/', 'app/server/', 'app/utils/']) {
      if (to.startsWith(up)) return `app/db/ is the bottom layer: it may not import ${to}`;
    }
  }
  if (from.startsWith('app/modules/')) {
    for (const up of ['app/routes/', 'app/components/', 'app/server/']) {
      if (to.startsWith(up))
        return `a module may not import ${up} (${to}): dependencies go routes → modules → db`;
    }
    if (to === 'app/root') return 'a module may not import app/root.tsx';
    if (HTTP_HELPERS.includes(to)) {
      return `a module returns values and throws domain errors; ${to} speaks HTTP and is for routes`;
    }
  }
  if (from.startsWith('app/components/') && to.startsWith('app/routes/')) {
    return `a component may not import a route (${to})`;
  }
  if (!typeOnly && isBrowserCode(from, ext) && isServer(to)) {
    return `browser code may not import server code (${to}); the classic compiler would swap it for an empty module`;
  }
  return null;
}

// --- the capability graph, read once per lint run from the files on disk -------------------------

const IMPORT =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

let cached;
function capabilityGraph(root) {
  if (cached?.root === root) return cached.graph;
  const graph = new Map();
  const modules = path.join(root, 'app', 'modules');
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE.test(entry.name) && !/\.test\.[tj]sx?$/.test(entry.name)) {
        const rel = posix(path.relative(root, full));
        const from = capabilityOf(rel);
        if (!from) continue;
        const text = fs.readFileSync(full, 'utf8');
        for (const m of text.matchAll(IMPORT)) {
          const to = targetOf(m[1] ?? m[2] ?? m[3], full, root);
          const cap = to && capabilityOf(to);
          if (cap && cap !== from) {
            if (!graph.has(from)) graph.set(from, new Set());
            graph.get(from).add(cap);
          }
        }
      }
    }
  };
  walk(modules);
  cached = { root, graph };
  return graph;
}

/** A path of capabilities from `start` back to `goal`, or null. */
export function pathBetween(graph, start, goal) {
  const seen = new Set([start]);
  const queue = [[start]];
  while (queue.length) {
    const trail = queue.shift();
    const last = trail[trail.length - 1];
    for (const next of graph.get(last) ?? []) {
      if (next === goal) return [...trail, next];
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([...trail, next]);
      }
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
export const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Dependencies go one way: routes → components → modules → db (ADR 009).' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, graph: { type: 'object' } },
        additionalProperties: false,
      },
    ],
    messages: { layer: '{{problem}}', cycle: 'Import cycle between modules: {{cycle}}.' },
  },
  create(context) {
    const options = context.options[0] ?? {};
    const root = options.root ?? context.cwd;
    const file = context.filename;
    const from = stripExt(posix(path.relative(root, file)));
    const fromCap = capabilityOf(from);
    const graph = () =>
      options.graph
        ? new Map(Object.entries(options.graph).map(([k, v]) => [k, new Set(v)]))
        : capabilityGraph(root);
    const ext = path.extname(file);
    function check(node, specifier, typeOnly = false) {
      if (typeof specifier !== 'string') return;
      const to = targetOf(specifier, file, root);
      if (!to) return;
      const problem = layerProblem(from, to, { typeOnly, ext });
      if (problem) context.report({ node, messageId: 'layer', data: { problem } });
      const toCap = capabilityOf(to);
      if (fromCap && toCap && toCap !== fromCap) {
        const back = pathBetween(graph(), toCap, fromCap);
        if (back)
          context.report({
            node,
            messageId: 'cycle',
            data: { cycle: [fromCap, ...back].join(' → ') },
          });
      }
    }
    return {
      ImportDeclaration: (node) =>
        check(
          node.source,
          node.source.value,
          node.importKind === 'type' ||
            (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type')),
        ),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) =>
        node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default { rules: { layers } };

import path from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { layerProblem, layers, pathBetween } from '../../eslint-rules/layers.mjs';

// The rule that keeps dependencies one way (ADR 009), on files that need not exist: it judges the
// import's specifier as written, so an import that does not resolve is judged all the same.

const root = '/repo';
const at = (rel: string) => path.join(root, rel);
const tester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
});
const acyclic = { access: ['auth', 'audit'], auth: ['audit'], audit: ['jobs'], jobs: [] };

tester.run('custodian/layers', layers, {
  valid: [
    {
      filename: at('app/routes/users.tsx'),
      code: "import { guard } from '#app/utils/guard.server.ts';",
    },
    {
      filename: at('app/db/schema.ts'),
      code: "import { X } from '#app/modules/access/vocabulary.ts';",
    },
    {
      filename: at('app/modules/access/grants.server.ts'),
      code: "import { recordAudit } from '#app/modules/audit/writer.server.ts';",
      options: [{ root, graph: acyclic }],
    },
    {
      filename: at('app/components/users/card.tsx'),
      code: "import type { Row } from '#app/modules/users/lookup.server.ts';",
    },
    { filename: at('app/modules/audit/thread.mjs'), code: "import './sequencer.server.ts';" },
  ].map((c) => ({ options: [{ root, graph: acyclic }], ...c })),
  invalid: [
    {
      // A back-edge: the schema reaching into a module's server code, by a path that does not exist.
      filename: at('app/db/schema.ts'),
      code: "import { DATASETS } from '#app/modules/analytics/no-such-file.server.ts';",
      errors: [{ messageId: 'layer' }],
    },
    {
      filename: at('app/db/schema.ts'),
      code: "import { DATASETS } from '../modules/analytics/config.server.ts';",
      errors: [{ messageId: 'layer' }],
    },
    {
      filename: at('app/modules/users/view.server.ts'),
      code: "import type { GrantRefusal } from '../../components/users/grant-refusal.tsx';",
      errors: [{ messageId: 'layer' }],
    },
    {
      filename: at('app/modules/users/data.server.ts'),
      code: "import { answer } from '#app/utils/http.server.ts';",
      errors: [{ messageId: 'layer' }],
    },
    {
      filename: at('app/components/users/card.tsx'),
      code: "import { readProfile } from '#app/modules/users/data.server.ts';",
      errors: [{ messageId: 'layer' }],
    },
    {
      // A cycle: audit already reaches access through jobs.
      filename: at('app/modules/access/grants.server.ts'),
      code: "import { x } from '#app/modules/audit/writer.server.ts';",
      options: [{ root, graph: { audit: ['jobs'], jobs: ['access'] } }],
      errors: [{ messageId: 'cycle', data: { cycle: 'access → audit → jobs → access' } }],
    },
  ].map((c) => ({ options: [{ root, graph: acyclic }], ...c })),
});

describe('layerProblem and pathBetween', () => {
  it('names what is wrong, and finds the way back that makes a cycle', () => {
    expect(layerProblem('app/modules/auth/x.server', 'app/routes/login')).toMatch(/routes/);
    expect(layerProblem('app/routes/login', 'app/modules/auth/x.server')).toBeNull();
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
    ]);
    expect(pathBetween(graph, 'a', 'c')).toEqual(['a', 'b', 'c']);
    expect(pathBetween(graph, 'c', 'a')).toBeNull();
  });
});

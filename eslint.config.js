import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import custodian from './eslint-rules/layers.mjs';

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'build',
      'public/build',
      '.data',
      '.cache',
      'test-results',
      'drizzle/meta',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/only-throw-error': 'off', // Remix routes throw Responses on purpose
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { attributes: false } },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Use node:crypto randomness (or the seed PRNG), never Math.random.',
        },
      ],
    },
  },
  {
    // Dependencies one way (ADR 009), judged on each import's specifier.
    files: ['app/**/*.{ts,tsx,js,mjs}'],
    plugins: { custodian },
    rules: { 'custodian/layers': ['error', { root: import.meta.dirname }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);

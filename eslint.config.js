import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The component boundaries (ARCHITECTURE.md): api, operator and transcoder-image import common and their
// own files only; common imports no component; product code never imports test/, bench/ or the support
// workspaces (packages/); bench/ and the support workspaces never import test/. hack/check-workspace-deps.ts
// checks the same graph against the package.json files.
const FOLDERS = ['common', 'api', 'operator', 'transcoder-image', 'test', 'bench', 'packages'];
const PACKAGES = { common: 'common', api: 'api', operator: 'operator', 'transcoder-image': 'transcoder' };
function boundary(files, allowedFolders, allowedPackages, why) {
  const folders = FOLDERS.filter((f) => !allowedFolders.includes(f));
  const packages = ['common', 'api', 'operator', 'transcoder', 'hostenv', 'testkit'].filter(
    (p) => !allowedPackages.includes(p),
  );
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message: why },
            { regex: `^@videoflix/(${packages.join('|')})(/|$)`, message: why },
          ],
        },
      ],
    },
  };
}
const product = (name) =>
  boundary(
    [`${name}/**/*.{ts,js,mjs}`],
    [name, 'common'],
    ['common', PACKAGES[name]],
    `${name} may import common and its own files only (ARCHITECTURE.md: the boundaries)`,
  );

export default tseslint.config(
  { ignores: ['dist/', 'bin/', 'node_modules/', '.cache/', '.dev/', 'charts/', 'web/admin-console/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // the admin console: browser ES modules (served as they are, no build step)
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'fetch',
          'XMLHttpRequest',
          'FormData',
          'setTimeout',
          'clearTimeout',
          'confirm',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  boundary(['common/**/*.{ts,js,mjs}'], ['common'], ['common'], 'common imports no component'),
  product('api'),
  product('operator'),
  product('transcoder-image'),
  boundary(
    ['packages/**/*.{ts,js,mjs}'],
    ['packages', 'common', 'api'],
    ['hostenv', 'testkit', 'common', 'api'],
    'the support workspaces never import test/ or bench/ (tests import them, not the other way round)',
  ),
  boundary(
    ['bench/**/*.{ts,js,mjs}'],
    ['bench', 'common', 'api', 'operator', 'transcoder-image', 'packages'],
    ['hostenv', 'testkit', 'common', 'api', 'operator', 'transcoder'],
    'bench/ must not import test internals: shared helpers live in @videoflix/testkit and @videoflix/hostenv',
  ),
);

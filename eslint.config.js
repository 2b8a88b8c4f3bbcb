import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
);

// A small rule set: typescript-eslint's recommended rules, plus the one rule that
// protects determinism — workflow and domain code may not import Node, Prisma or
// activity implementations (only activity *types*).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'prisma/generated/', 'test-results/', 'artifacts/', '**/workflow-bundle-*.js', '.build/', 'dist/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // Test doubles and protocol fakes read arbitrary JSON on purpose.
    files: ['tests/**/*.ts', 'tools/peers/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'child_process', 'os'], message: 'No Node I/O in workflow or domain code: it must stay deterministic.' },
            { group: ['@prisma/*', '**/prisma/*', 'pg', 'nodemailer', 'twilio', 'pdfkit'], message: 'No I/O libraries in workflow or domain code.' },
            { group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'], message: 'Not allowed inside the workflow sandbox.' },
          ],
        },
      ],
      // Activity interfaces as types only: a value from activities/ would pull its module into the bundle.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities/*'], allowTypeImports: true, message: 'Only `import type` from activities/; shared constants are in contracts/.' }] },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() / condition() from @temporalio/workflow.' }],
    },
  },
  {
    // The reply/bounce address format is shared by the email activity and the inbound API; its
    // HMAC needs node:crypto, which is fine as long as no workflow imports it (none does).
    files: ['contracts/reply-addresses.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The API talks to workflows through contracts/ (ids, queues, messages), never to activity code.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/activities/*', '**/activities'], message: 'api/ imports nothing from activities/: shared names live in contracts/.' }] }],
    },
  },
);

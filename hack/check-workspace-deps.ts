/** `npm run lint`: fails when a workspace imports a package (or another workspace) its package.json does not declare. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRepository } from './workspace-deps.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const problems = checkRepository(root);
for (const p of problems) process.stderr.write(`${p}\n`);
if (problems.length) {
  process.stderr.write(
    `check-workspace-deps: ${problems.length} undeclared import(s); declare them in the package.json shown\n`,
  );
  process.exit(1);
}
process.stdout.write('check-workspace-deps: every import is declared by its workspace\n');

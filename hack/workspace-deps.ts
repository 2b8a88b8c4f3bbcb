/**
 * The package graph, checked: every import of a workspace names a package its package.json declares
 * (a runtime import in `dependencies`, since the images install only those; a type-only import may be
 * a devDependency), and a relative import that leaves the workspace lands in a workspace it declares.
 * Files outside every workspace (test/, bench/, hack/, web/) belong to the root package.
 * Run by `npm run lint` through hack/check-workspace-deps.ts.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

export interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface ImportRef {
  specifier: string;
  /** `import type` / `export type`: erased at compile time, so a devDependency is enough. */
  typeOnly: boolean;
}

export interface Workspace {
  /** Directory relative to the repository root ('' for the root package). */
  dir: string;
  manifest: Manifest;
}

const BUILTINS = new Set(builtinModules);
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"\n]+)['"]/gm;
const DYNAMIC = /(?:\bimport|\brequire|\brequire\.resolve|\)\.resolve)\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** Comments out of the way (a `from 'x'` in prose is not an import); strings are kept. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** The module specifiers a source file imports, re-exports or resolves. */
export function importsOf(source: string): ImportRef[] {
  const code = stripComments(source);
  const out: ImportRef[] = [];
  for (const m of code.matchAll(STATIC)) out.push({ specifier: m[3] as string, typeOnly: Boolean(m[2]) });
  for (const m of code.matchAll(DYNAMIC)) out.push({ specifier: m[1] as string, typeOnly: false });
  return out;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative paths and builtins. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  return BUILTINS.has(name) ? undefined : name;
}

/** `express` → `@types/express`, `@scope/name` → `@types/scope__name`. */
export function typesPackage(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}

/** Why `ref` (an import of package `name`) is not allowed by `manifest`, or undefined when it is. */
export function undeclared(
  name: string,
  ref: ImportRef,
  manifest: Manifest,
  isRoot: boolean,
): string | undefined {
  const prod = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies };
  const all = { ...prod, ...manifest.devDependencies };
  if (ref.typeOnly) {
    return name in all || typesPackage(name) in all
      ? undefined
      : `imports ${name}, which its package.json does not declare`;
  }
  if (!(name in all)) return `imports ${name}, which its package.json does not declare`;
  if (!isRoot && !(name in prod)) {
    return `imports ${name} at run time, but declares it only as a devDependency (the images omit those)`;
  }
  return undefined;
}

/** The workspace that owns `file` (the deepest workspace directory containing it, else the root). */
export function ownerOf(file: string, workspaces: Workspace[]): Workspace {
  let best: Workspace | undefined;
  for (const ws of workspaces) {
    if (ws.dir === '') continue;
    if ((file === ws.dir || file.startsWith(`${ws.dir}/`)) && (!best || ws.dir.length > best.dir.length))
      best = ws;
  }
  return best ?? (workspaces.find((w) => w.dir === '') as Workspace);
}

/** Problems of one file (`file` relative to the root), given every workspace. */
export function checkFile(file: string, source: string, workspaces: Workspace[]): string[] {
  const owner = ownerOf(file, workspaces);
  const problems: string[] = [];
  for (const ref of importsOf(source)) {
    const name = packageName(ref.specifier);
    if (name) {
      const why = undeclared(name, ref, owner.manifest, owner.dir === '');
      if (why) problems.push(`${file}: ${why}`);
      continue;
    }
    if (!ref.specifier.startsWith('.')) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), ref.specifier));
    const to = ownerOf(target, workspaces);
    if (to === owner) continue;
    if (to.dir === '') {
      problems.push(
        `${file}: imports ${target}, outside every workspace (product code never imports test/ or bench/)`,
      );
    } else {
      const why = undeclared(to.manifest.name, ref, owner.manifest, owner.dir === '');
      if (why) problems.push(`${file}: ${why} (${ref.specifier})`);
    }
  }
  return problems;
}

const SKIP = new Set([
  'node_modules',
  'dist',
  'bin',
  '.cache',
  '.dev',
  '.git',
  'vendor',
  'charts',
  'test-results',
]);

function sources(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith('.dev')) continue;
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...sources(root, rel));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every workspace of the root package.json (globs of the form `dir/*` expanded), the root first. */
export function readWorkspaces(root: string): Workspace[] {
  const read = (dir: string) =>
    JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as Manifest;
  const rootManifest = read('');
  const dirs = (rootManifest.workspaces ?? []).flatMap((w) =>
    w.endsWith('/*')
      ? fs
          .readdirSync(path.join(root, w.slice(0, -2)))
          .map((d) => `${w.slice(0, -2)}/${d}`)
          .filter((d) => fs.existsSync(path.join(root, d, 'package.json')))
      : [w],
  );
  return [{ dir: '', manifest: rootManifest }, ...dirs.map((dir) => ({ dir, manifest: read(dir) }))];
}

/** Every problem in the repository at `root`. */
export function checkRepository(root: string): string[] {
  const workspaces = readWorkspaces(root);
  return sources(root).flatMap((file) =>
    checkFile(file, fs.readFileSync(path.join(root, file), 'utf8'), workspaces),
  );
}

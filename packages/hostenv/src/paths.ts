/** Where the environment finds its tools and keeps its state, and the base environment of every process. */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository this package lives in (packages/hostenv/src → the root). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/**
 * The pinned tools (etcd, kube-apiserver, kube-controller-manager, kubectl, versitygw, maildev): where
 * hack/tools.sh links them, LOCALBIN when set (as the Makefile and hack/*.sh honour it), else ./bin.
 */
export const BIN_DIR = process.env.LOCALBIN
  ? path.resolve(process.env.LOCALBIN)
  : path.join(REPO_ROOT, 'bin');
/** The environment that `make env-up` / the CLI manage. */
export const DEFAULT_ROOT = path.join(REPO_ROOT, '.cache/hostenv');
export const CLI_PATH = path.join(REPO_ROOT, 'packages/hostenv/src/cli.ts');

/** A random credential (base64url). */
export const secret = (bytes = 18) => crypto.randomBytes(bytes).toString('base64url');

/** The whole environment of a launched process: nothing inherited from the caller. */
export function baseEnv(home: string): Record<string, string> {
  return {
    PATH: `${BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
  };
}

/** Scratch directory for processes that need no home of their own (kubectl). */
export const TMP_HOME = os.tmpdir();

/** `{ 'data-dir': '/x', quiet: true }` → `['--data-dir', '/x', '--quiet']`: command-line flags from a table. */
export function flags(table: Record<string, string | number | true>): string[] {
  return Object.entries(table).flatMap(([name, value]) =>
    value === true ? [`--${name}`] : [`--${name}`, String(value)],
  );
}

/** CustomResourceDefinitions applied to the environment's API server before the controller manager starts. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { BIN_DIR, REPO_ROOT, TMP_HOME, baseEnv } from './paths.js';

const execFileP = promisify(execFile);

/**
 * Applies every CRD in the *.yaml files of `dirs` with `kubectl apply --server-side` (a separate
 * process: importing @kubernetes/client-node takes seconds of this process's single thread on a
 * busy machine) and waits until each is Established. Returns the CRD names.
 */
export async function applyCrds(
  kubeconfig: string,
  dirs: string[],
  log: (l: string) => void = () => undefined,
): Promise<string[]> {
  const kubectl = (...args: string[]) =>
    execFileP(path.join(BIN_DIR, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      env: baseEnv(TMP_HOME),
      maxBuffer: 16 * 1024 * 1024,
    });
  const names: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      const full = path.join(dir, file);
      const crds = YAML.parseAllDocuments(fs.readFileSync(full, 'utf8'))
        .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
        .filter((o) => o?.kind === 'CustomResourceDefinition' && o.metadata?.name)
        .map((o) => o?.metadata?.name as string);
      if (!crds.length) continue;
      try {
        await kubectl(
          'apply',
          '--server-side',
          '--force-conflicts',
          '--field-manager',
          'videoflix-hostenv',
          '-f',
          full,
        );
      } catch (err) {
        throw new Error(`kubectl apply -f ${full}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
      names.push(...crds);
      log(`applied CRD ${crds.join(', ')} from ${path.relative(REPO_ROOT, full)}`);
    }
  }
  if (names.length) {
    await kubectl('wait', '--for=condition=Established', '--timeout=30s', ...names.map((n) => `crd/${n}`));
  }
  return names;
}

/** The API server's PKI (openssl, EC P-256) and the kubeconfigs that use it. */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

const execFileP = promisify(execFile);

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execFileP('openssl', args, { cwd });
}

/** CA, apiserver serving cert, admin and controller-manager client certs, SA signing key (EC P-256). */
export async function makePki(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=videoflix-hostenv-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const leaf = async (name: string, subj: string, ext: string) => {
    await fsp.writeFile(path.join(dir, `${name}.ext`), ext);
    await openssl(dir, [
      'req',
      '-new',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    ]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${crypto.randomBytes(12).toString('hex')}`,
      '-days',
      '365',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
    await Promise.all([fsp.rm(path.join(dir, `${name}.csr`)), fsp.rm(path.join(dir, `${name}.ext`))]);
  };
  const client = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';
  await Promise.all([
    leaf(
      'apiserver',
      '/CN=kube-apiserver',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
    ),
    leaf('admin', '/O=system:masters/CN=admin', client),
    leaf('kcm', '/CN=system:kube-controller-manager', client),
    (async () => {
      await openssl(dir, [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-out',
        'sa.key',
      ]);
      await openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
    })(),
  ]);
}

/** A kubeconfig for `user` (admin, kcm) with its client certificate from `pki`, inline. */
export function kubeconfigYaml(server: string, pki: string, user: string): string {
  const b64 = (f: string) => fs.readFileSync(path.join(pki, f)).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hostenv', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) },
      },
    ],
    contexts: [{ name: 'hostenv', context: { cluster: 'hostenv', user, namespace: 'default' } }],
    'current-context': 'hostenv',
  });
}

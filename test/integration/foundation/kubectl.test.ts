/** The admin kubeconfig works with the pinned kubectl; the API server is v1.35.4 with RBAC on. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { BIN_DIR } from '../../support/hostenv.js';

const run = promisify(execFile);

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    path.join(BIN_DIR, 'kubectl'),
    ['--kubeconfig', process.env.KUBECONFIG ?? '', ...args],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    },
  );
  return stdout;
}

describe('foundation: kubectl with the admin kubeconfig', function () {
  it('authenticates as admin in system:masters with a client certificate', async function () {
    const review = JSON.parse(await kubectl('auth', 'whoami', '-o', 'json')) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(review.status.userInfo.username).to.equal('admin');
    expect(review.status.userInfo.groups).to.include('system:masters');
  });

  it('talks to kube-apiserver v1.35.4', async function () {
    const version = JSON.parse(await kubectl('get', '--raw', '/version')) as { gitVersion: string };
    expect(version.gitVersion).to.equal('v1.35.4');
    expect(await kubectl('get', 'namespace', 'kube-system', '-o', 'name')).to.equal(
      'namespace/kube-system\n',
    );
  });

  it('has RBAC on: a service account may not create pods', async function () {
    const answer = await kubectl(
      'auth',
      'can-i',
      'create',
      'pods',
      '--as',
      'system:serviceaccount:default:default',
    ).catch((err: { stdout?: string }) => err.stdout ?? '');
    expect(answer.trim()).to.equal('no');
    expect((await kubectl('auth', 'can-i', 'create', 'pods')).trim()).to.equal('yes');
  });
});

import { expect } from 'chai';
import {
  COMPONENTS,
  PORT_NAMES,
  planState,
  wantedComponents,
  type Ports,
  type RecipeContext,
} from '@videoflix/hostenv';
import { BIN_DIR, flags } from '@videoflix/hostenv/paths';
import {
  apiserverSpec,
  controllerManagerSpec,
  epmdSpec,
  etcdSpec,
  KCM_CONTROLLERS,
  maildevSpec,
  postgresBootstrapSql,
  postgresSpec,
  rabbitConf,
  rabbitSpec,
  readinessCheck,
  versitygwSpec,
} from '@videoflix/hostenv/recipes/index';

const ports = Object.fromEntries(PORT_NAMES.map((n, i) => [n, 21000 + i])) as Ports;
const root = '/tmp/hostenv-unit';
const state = planState(root, ports, Date.UTC(2026, 0, 1));
const ctx: RecipeContext = { state, ports, data: `${root}/data`, pki: `${root}/pki` };

describe('hostenv: the plan and the recipes', () => {
  it('plans every variable from the reserved ports, with fresh credentials', () => {
    expect(state.env.S3_ENDPOINT).to.equal(`http://127.0.0.1:${ports.s3}`);
    expect(state.env.SMTP_PORT).to.equal(String(ports.smtp));
    expect(state.env.MAIL_API_URL).to.equal(`http://127.0.0.1:${ports.mailWeb}/api`);
    expect(state.env.KUBECONFIG).to.equal(`${root}/admin.kubeconfig`);
    expect(state.env.HOSTENV_STATE).to.equal(`${root}/state.json`);
    expect(state.apiserverUrl).to.equal(`https://127.0.0.1:${ports.apiserver}`);
    expect(new URL(state.env.DATABASE_URL).port).to.equal(String(ports.postgres));
    expect(new URL(state.env.AMQP_URL).port).to.equal(String(ports.amqp));
    expect(state.ready).to.equal(false);
    const other = planState(root, ports);
    expect(other.env.S3_SECRET_KEY).not.to.equal(state.env.S3_SECRET_KEY);
    expect(other.env.DATABASE_URL).not.to.equal(state.env.DATABASE_URL);
  });

  it('bootstraps PostgreSQL with the passwords, role and database of the plan', () => {
    const app = new URL(state.env.DATABASE_URL);
    const admin = new URL(state.databaseAdminUrl);
    expect(postgresBootstrapSql(state)).to.deep.equal([
      `ALTER ROLE postgres PASSWORD '${admin.password}'`,
      `CREATE ROLE videoflix LOGIN CREATEDB PASSWORD '${app.password}'`,
      'CREATE DATABASE videoflix OWNER videoflix',
    ]);
  });

  it('gives RabbitMQ the default user of the plan', () => {
    const url = new URL(state.env.AMQP_URL);
    const conf = rabbitConf(state.env.AMQP_URL);
    expect(conf).to.contain(`default_user = ${url.username}\n`);
    expect(conf).to.contain(`default_pass = ${url.password}\n`);
    expect(conf).to.contain('loopback_users = none');
  });

  it('launches each service on its own ports and directories, from ./bin or the Debian packages', () => {
    const etcd = etcdSpec(ctx);
    expect(etcd.cmd).to.equal(`${BIN_DIR}/etcd`);
    expect(etcd.args).to.include(`http://127.0.0.1:${ports.etcd}`).and.include(`${root}/data/etcd`);
    const apiserver = apiserverSpec(ctx);
    expect(apiserver.args).to.include(String(ports.apiserver)).and.include(`${root}/pki/ca.crt`);
    expect(apiserver.args).to.include(state.apiserverUrl); // the service-account issuer
    expect(controllerManagerSpec(ctx).args).to.include(KCM_CONTROLLERS.join(','));
    const s3 = versitygwSpec(ctx);
    expect(s3.args).to.include(`127.0.0.1:${ports.s3}`);
    expect(s3.env).to.include({
      ROOT_ACCESS_KEY: state.env.S3_ACCESS_KEY,
      ROOT_SECRET_KEY: state.env.S3_SECRET_KEY,
    });
    const pg = postgresSpec(ctx, { uid: 123, gid: 456 });
    expect(pg).to.include({ uid: 123, gid: 456, stopSignal: 'SIGINT' });
    expect(pg.args).to.include(String(ports.postgres));
    expect(epmdSpec(ctx).args).to.deep.equal(['-port', String(ports.epmd), '-address', '127.0.0.1']);
    expect(rabbitSpec(ctx).env).to.include({
      RABBITMQ_NODE_PORT: String(ports.amqp),
      RABBITMQ_DIST_PORT: String(ports.rabbitDist),
      ERL_EPMD_PORT: String(ports.epmd),
    });
    expect(maildevSpec(ctx).args).to.include(String(ports.smtp)).and.include(String(ports.mailWeb));
    for (const spec of [etcd, apiserver, s3, pg])
      expect(spec.env.PATH?.startsWith(`${BIN_DIR}:`)).to.equal(true);
  });

  it('has a readiness check for every process it launches, and refuses an unknown name', () => {
    for (const name of [
      'etcd',
      'kube-controller-manager',
      'versitygw',
      'postgres',
      'epmd',
      'rabbitmq',
      'maildev',
    ]) {
      expect(readinessCheck(state, name)).to.be.a('function');
    }
    expect(() => readinessCheck(state, 'nginx')).to.throw('no readiness check for nginx');
  });

  it('starts the components asked for (options, then HOSTENV_COMPONENTS, then all)', () => {
    expect(wantedComponents({}, undefined)).to.deep.equal([...COMPONENTS]);
    expect(wantedComponents({}, 'postgres, mail')).to.deep.equal(['postgres', 'mail']);
    expect(wantedComponents({ components: ['s3'] }, 'postgres')).to.deep.equal(['s3']);
    expect(() => wantedComponents({}, 'kube,redis')).to.throw(/unknown hostenv component redis/);
  });
});

describe('hostenv: flags', () => {
  it('turns a table into command-line flags, `true` standing alone', () => {
    expect(flags({ 'data-dir': '/x', port: 0, quiet: true, 'profiling=false': true })).to.deep.equal([
      '--data-dir',
      '/x',
      '--port',
      '0',
      '--quiet',
      '--profiling=false',
    ]);
  });
});

import { expect } from 'chai';
import {
  checkFile,
  importsOf,
  packageName,
  typesPackage,
  type Workspace,
} from '../../../hack/workspace-deps.js';

const workspaces: Workspace[] = [
  { dir: '', manifest: { name: 'root', devDependencies: { chai: '1', '@videoflix/api': '0.1.0' } } },
  { dir: 'common', manifest: { name: '@videoflix/common', dependencies: { zod: '4' } } },
  {
    dir: 'api',
    manifest: {
      name: '@videoflix/api',
      dependencies: { '@videoflix/common': '0.1.0', express: '5' },
      devDependencies: { pino: '10' },
    },
  },
  { dir: 'operator', manifest: { name: '@videoflix/operator', dependencies: {} } },
];

describe('hack/workspace-deps: the package graph check', () => {
  describe('importsOf', () => {
    it('finds static, multi-line, re-exported, dynamic and resolved imports', () => {
      const source = [
        "import express, { type Request } from 'express';",
        'import {',
        '  a,',
        '  b,',
        "} from '../common/video/index.js';",
        "export * from './x.js';",
        "import 'side-effect';",
        // split so that the check's own scan of this file does not take them for imports
        'const m = await imp' + "ort('lazy');",
        'const hls = createRequire(import.meta.url).res' + "olve('hls.js/dist/hls.min.js');",
      ].join('\n');
      expect(importsOf(source).map((r) => r.specifier)).to.deep.equal([
        'express',
        '../common/video/index.js',
        './x.js',
        'side-effect',
        'lazy',
        'hls.js/dist/hls.min.js',
      ]);
    });

    it('marks type-only imports, and ignores comments and Promise.resolve', () => {
      const source = [
        "import type { Sequelize } from 'sequelize';",
        "export type { Foo } from 'foo';",
        "// import x from 'commented-out';",
        "/* import y from 'block-comment'; */",
        "const p = Promise.resolve('upload-1');",
      ].join('\n');
      expect(importsOf(source)).to.deep.equal([
        { specifier: 'sequelize', typeOnly: true },
        { specifier: 'foo', typeOnly: true },
      ]);
    });
  });

  it('names the package of a specifier, none for builtins and relative paths', () => {
    expect(packageName('@kubernetes/client-node/dist/x.js')).to.equal('@kubernetes/client-node');
    expect(packageName('hls.js/dist/hls.min.js')).to.equal('hls.js');
    expect(packageName('fs')).to.equal(undefined);
    expect(packageName('node:path')).to.equal(undefined);
    expect(packageName('./local.js')).to.equal(undefined);
    expect(typesPackage('@scope/name')).to.equal('@types/scope__name');
  });

  describe('checkFile', () => {
    it('accepts declared packages and a relative import of a declared workspace', () => {
      const source = "import express from 'express';\nimport { v } from '../common/video/index.js';\n";
      expect(checkFile('api/app.ts', source, workspaces)).to.deep.equal([]);
    });

    it('reports a package the workspace does not declare', () => {
      expect(checkFile('api/app.ts', "import amqp from 'amqplib';\n", workspaces)).to.deep.equal([
        'api/app.ts: imports amqplib, which its package.json does not declare',
      ]);
    });

    it('reports a run-time import of a devDependency (the images omit those), not a type-only one', () => {
      expect(checkFile('api/log.ts', "import pino from 'pino';\n", workspaces)).to.have.length(1);
      expect(checkFile('api/log.ts', "import type { Logger } from 'pino';\n", workspaces)).to.deep.equal([]);
    });

    it('reports a relative import of a workspace that is not declared', () => {
      const problems = checkFile('operator/main.ts', "import { a } from '../api/app.js';\n", workspaces);
      expect(problems).to.deep.equal([
        'operator/main.ts: imports @videoflix/api, which its package.json does not declare (../api/app.js)',
      ]);
    });

    it('reports product code that imports test/ or bench/', () => {
      const problems = checkFile(
        'common/x.ts',
        "import { w } from '../test/support/waiters.js';\n",
        workspaces,
      );
      expect(problems[0]).to.match(/outside every workspace/);
    });

    it('lets the root package (test/, bench/) use its devDependencies and the workspaces it declares', () => {
      const source = "import { expect } from 'chai';\nimport { createApp } from '../../api/app.js';\n";
      expect(checkFile('test/unit/x.test.ts', source, workspaces)).to.deep.equal([]);
    });
  });
});

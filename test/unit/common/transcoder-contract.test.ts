/** The transcoder's command path (common/video/transcoder-contract.ts): one definition, both sides. */
import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { RENDITIONS, TRANSCODER_COMMAND, transcoderArgs } from '../../../common/video/index.js';
import { buildJob, THUMBNAIL_TASK, type Task } from '../../../operator/video/jobs.js';
import { parseArgs } from '../../../transcoder-image/config.js';
import { settings, video } from '../operator/fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TASKS: Task[] = [THUMBNAIL_TASK, ...RENDITIONS];

describe('common/video/transcoder-contract: the command a transcoder Job runs', () => {
  it('the Job builder runs the contract command with the contract arguments', () => {
    for (const task of TASKS) {
      const c = buildJob(video(), task, settings).spec?.template.spec?.containers[0];
      expect(c?.command).to.deep.equal([...TRANSCODER_COMMAND]);
      expect(c?.args).to.deep.equal(transcoderArgs(task));
    }
  });

  it('the transcoder program parses every argument list the contract builds', () => {
    expect(parseArgs(transcoderArgs(THUMBNAIL_TASK))).to.deep.equal({ task: 'thumbnail' });
    for (const r of RENDITIONS) {
      expect(parseArgs(transcoderArgs(r))).to.deep.equal({ task: 'rendition', rendition: r });
    }
  });

  it("is the transcoder image's ENTRYPOINT, wherever its Dockerfile lives", () => {
    const dockerfiles = globSync('**/Dockerfile*', {
      cwd: ROOT,
      exclude: (p) => /node_modules|^\.|\/\./.test(String(p)),
    })
      .map((f) => readFileSync(path.join(ROOT, f), 'utf8'))
      .filter((text) => text.includes('transcoder-image/main.js'));
    expect(dockerfiles, 'the transcoder Dockerfile').to.have.length.greaterThan(0);
    for (const text of dockerfiles) {
      const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text);
      expect(entry, 'an exec-form ENTRYPOINT').to.not.equal(null);
      expect(JSON.parse(entry![1]!)).to.deep.equal([...TRANSCODER_COMMAND]);
    }
  });
});

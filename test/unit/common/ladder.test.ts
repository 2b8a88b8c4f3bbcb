/**
 * The one resolution of LADDER_JSON (common/video/ladder.ts): the operator (rung selection, Job
 * environment) and the transcoder (its Job's environment) must pick the same rungs for the same input.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { expect } from 'chai';
import { loadConfig, ConfigError } from '../../../common/config/index.js';
import {
  LadderConfigError,
  rung,
  selectRenditions,
  type RenditionName,
} from '../../../common/video/index.js';
import { jobSettingsFrom, ladderFrom, operatorSchema } from '../../../operator/config.js';
import { buildJob, type JobSettings } from '../../../operator/video/jobs.js';
import { loadJobConfig } from '../../../transcoder-image/config.js';
import { TranscoderError } from '../../../transcoder-image/errors.js';
import { video } from '../operator/fixtures.js';

const ALL: RenditionName[] = ['480p', '720p', '1080p'];
const SECRETS = { S3_ACCESS_KEY: 'ak', S3_SECRET_KEY: 'sk' };

function operatorSettings(ladderJson: string): JobSettings {
  return jobSettingsFrom(loadConfig(operatorSchema, { ...SECRETS, LADDER_JSON: ladderJson }));
}

/** The environment a transcoder container of `job` starts with (Secret references resolved). */
function containerEnv(vars: V1EnvVar[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of vars) out[v.name] = v.value ?? (SECRETS as Record<string, string>)[v.name] ?? '';
  return out;
}

/**
 * What the transcoders do when the operator starts every requested Job before the probe: the lowest
 * requested rung always runs, the others carry SKIP_TALLER_THAN_SOURCE and skip themselves.
 */
function transcoderRungs(
  ladderJson: string,
  requested: RenditionName[],
  sourceHeight: number,
): RenditionName[] {
  const settings = operatorSettings(ladderJson);
  const lowest = ladderFrom(ladderJson).rungs.find((r) => requested.includes(r.name))?.name;
  const encoded: RenditionName[] = [];
  for (const name of requested) {
    const job = buildJob(video({}, { renditions: requested }), name, settings, {
      skipTallerThanSource: name !== lowest,
    });
    const env = containerEnv(job.spec?.template.spec?.containers[0]?.env ?? []);
    const config = loadJobConfig(env);
    const skipped = config.skipTallerThanSource && rung(name, config.ladder).height > sourceHeight;
    if (!skipped) encoded.push(name);
  }
  return encoded;
}

function operatorRungs(
  ladderJson: string,
  requested: RenditionName[],
  sourceHeight: number,
): RenditionName[] {
  const config = loadConfig(operatorSchema, { ...SECRETS, LADDER_JSON: ladderJson });
  return selectRenditions(requested, sourceHeight, ladderFrom(config.LADDER_JSON, config.SEGMENT_SECONDS));
}

describe('common/video/ladder: one LADDER_JSON for operator and transcoder', () => {
  const inputs = [
    '',
    '{"preset":"faster"}',
    // a partial override of one rung: merged by name, the other rungs and fields stay
    '{"rungs":[{"name":"720p","width":960,"height":540}]}',
    '{"rungs":[{"name":"1080p","videoKbps":6000},{"name":"480p","height":360,"width":640}]}',
  ];
  const heights = [240, 360, 480, 540, 600, 720, 1000, 1080, 2160];
  const requests: RenditionName[][] = [ALL, ['720p', '1080p'], ['1080p'], ['480p', '1080p']];

  for (const json of inputs) {
    it(`picks the same rungs on both sides for ${json || 'no override'}`, () => {
      for (const h of heights) {
        for (const requested of requests) {
          expect(transcoderRungs(json, requested, h), `${json} ${h}p ${requested.join(',')}`).to.deep.equal(
            operatorRungs(json, requested, h),
          );
        }
      }
    });
  }

  it('merges a partial rung override by name (the operator used to drop every other rung)', () => {
    const ladder = ladderFrom('{"rungs":[{"name":"720p","width":960,"height":540}]}');
    expect(ladder.rungs.map((r) => [r.name, r.width, r.height, r.videoKbps])).to.deep.equal([
      ['480p', 854, 480, 1400],
      ['720p', 960, 540, 2800],
      ['1080p', 1920, 1080, 5000],
    ]);
    expect(operatorRungs('{"rungs":[{"name":"720p","width":960,"height":540}]}', ALL, 600)).to.deep.equal([
      '480p',
      '720p',
    ]);
  });

  it('passes the override to the Jobs as it was given', () => {
    const json = '{"rungs":[{"name":"720p","videoKbps":2500}]}';
    const env = containerEnv(
      buildJob(video(), '720p', operatorSettings(json)).spec?.template.spec?.containers[0]?.env ?? [],
    );
    expect(env.LADDER_JSON).to.equal(json);
    expect(rung('720p', loadJobConfig(env).ladder).videoKbps).to.equal(2500);
  });

  describe('bad input is a clear error on both sides', () => {
    const bad: [string, RegExp][] = [
      ['{not json', /LADDER_JSON is not valid JSON/],
      ['{"rungs":[{"name":"4k","width":3840}]}', /LADDER_JSON: rungs\.0\.name/],
      ['{"rungs":{"name":"720p"}}', /LADDER_JSON: rungs/],
      ['{"preset":"ludicrous"}', /LADDER_JSON: preset/],
      ['{"rungs":[{"name":"720p","width":1279}]}', /even/],
      ['{"gopSeconds":8}', /gopSeconds \(8\) must not exceed segmentSeconds \(6\)/],
    ];
    for (const [json, message] of bad) {
      it(`refuses ${json}`, () => {
        expect(() => ladderFrom(json)).to.throw(LadderConfigError, message);
        // the operator stops at start with the reason (exit 78, EX_CONFIG) ...
        expect(() => loadConfig(operatorSchema, { ...SECRETS, LADDER_JSON: json }))
          .to.throw(ConfigError, message)
          .with.property('issues')
          .that.satisfies((issues: string[]) => issues.some((i) => i.startsWith('LADDER_JSON: ')));
        // ... and a transcoder given it ends with a usage error (exit 64) that says why
        const env = { VIDEO_ID: 'u1', SOURCE_KEY: 'k', ...SECRETS, LADDER_JSON: json };
        expect(() => loadJobConfig(env))
          .to.throw(TranscoderError, /^invalid ladder: /)
          .with.property('message')
          .that.matches(message);
      });
    }

    it('checks LADDER_JSON together with SEGMENT_SECONDS in the operator', () => {
      expect(() =>
        loadConfig(operatorSchema, { ...SECRETS, LADDER_JSON: '{"gopSeconds":5}', SEGMENT_SECONDS: '4' }),
      ).to.throw(ConfigError, /gopSeconds \(5\) must not exceed segmentSeconds \(4\)/);
      expect(ladderFrom('{"gopSeconds":5}', 10).segmentSeconds).to.equal(10);
    });
  });
});

/**
 * The effective ladder of one transcoder run: DEFAULT_LADDER (common/video/ladder.ts, the one table)
 * with the overrides of the Job's environment applied and validated.
 *
 * LADDER_JSON is a partial LadderSettings. Top-level fields replace the defaults; `rungs` entries are
 * merged by name into the default rungs (a rung not in the table must give every field), e.g.
 *   {"preset":"faster","rungs":[{"name":"720p","videoKbps":2500}]}
 * SEGMENT_SECONDS, when set, wins over LADDER_JSON's segmentSeconds.
 */
import { z } from 'zod';
import { DEFAULT_LADDER, RENDITIONS, type LadderRung, type LadderSettings } from '../common/video/index.js';

const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;

/** H.264 profiles an 8-bit 4:2:0 HLS stream can use. */
const PROFILES = ['baseline', 'main', 'high'] as const;

const dimension = z.number().int().min(16).max(8192);
const rungOverride = z
  .object({
    name: z.enum(RENDITIONS),
    width: dimension.optional(),
    height: dimension.optional(),
    videoKbps: z.number().int().min(64).max(100_000).optional(),
    audioKbps: z.number().int().min(32).max(512).optional(),
  })
  .strict();

const overridesSchema = z
  .object({
    rungs: z.array(rungOverride).optional(),
    preset: z.enum(X264_PRESETS).optional(),
    profile: z.enum(PROFILES).optional(),
    segmentSeconds: z.number().min(1).max(60).optional(),
    gopSeconds: z.number().min(0.5).max(20).optional(),
    maxrateFactor: z.number().min(1).max(3).optional(),
    bufsizeFactor: z.number().min(0.5).max(5).optional(),
  })
  .strict();

export type LadderOverrides = z.infer<typeof overridesSchema>;

export class LadderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LadderConfigError';
  }
}

/** Parses LADDER_JSON / SEGMENT_SECONDS (raw env strings) and returns the effective ladder. */
export function resolveLadder(
  env: { ladderJson?: string | undefined; segmentSeconds?: string | undefined },
  base: LadderSettings = DEFAULT_LADDER,
): LadderSettings {
  let overrides: LadderOverrides = {};
  const json = env.ladderJson?.trim();
  if (json) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new LadderConfigError(`LADDER_JSON is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = overridesSchema.safeParse(raw);
    if (!parsed.success) throw new LadderConfigError(`LADDER_JSON: ${formatIssues(parsed.error)}`);
    overrides = parsed.data;
  }
  const seg = env.segmentSeconds?.trim();
  if (seg) {
    const parsed = overridesSchema.shape.segmentSeconds.safeParse(Number(seg));
    if (!parsed.success || seg === '' || Number.isNaN(Number(seg))) {
      throw new LadderConfigError(
        `SEGMENT_SECONDS must be a number of seconds between 1 and 60, got "${seg}"`,
      );
    }
    overrides = { ...overrides, segmentSeconds: parsed.data };
  }
  return applyOverrides(base, overrides);
}

export function applyOverrides(base: LadderSettings, o: LadderOverrides): LadderSettings {
  const rungs: LadderRung[] = base.rungs.map((r) => ({ ...r }));
  for (const ov of o.rungs ?? []) {
    const i = rungs.findIndex((r) => r.name === ov.name);
    if (i >= 0) {
      rungs[i] = { ...rungs[i]!, ...definedOnly(ov) };
    } else {
      const { width, height, videoKbps, audioKbps } = ov;
      if (width === undefined || height === undefined || videoKbps === undefined || audioKbps === undefined) {
        throw new LadderConfigError(
          `LADDER_JSON: rung ${ov.name} is not in the default ladder, so width, height, videoKbps and audioKbps are required`,
        );
      }
      rungs.push({ name: ov.name, width, height, videoKbps, audioKbps });
    }
  }
  const ladder: LadderSettings = {
    rungs,
    preset: o.preset ?? base.preset,
    profile: o.profile ?? base.profile,
    segmentSeconds: o.segmentSeconds ?? base.segmentSeconds,
    gopSeconds: o.gopSeconds ?? base.gopSeconds,
    maxrateFactor: o.maxrateFactor ?? base.maxrateFactor,
    bufsizeFactor: o.bufsizeFactor ?? base.bufsizeFactor,
  };
  for (const r of ladder.rungs) {
    if (r.width % 2 !== 0 || r.height % 2 !== 0) {
      throw new LadderConfigError(
        `rung ${r.name}: width and height must be even (H.264 4:2:0), got ${r.width}x${r.height}`,
      );
    }
  }
  if (ladder.gopSeconds > ladder.segmentSeconds) {
    throw new LadderConfigError(
      `gopSeconds (${ladder.gopSeconds}) must not exceed segmentSeconds (${ladder.segmentSeconds}): every segment must start on a key frame`,
    );
  }
  return ladder;
}

/** The rate-control numbers of one rung, in kbit/s, as ffmpeg gets them. */
export function rateControl(r: LadderRung, ladder: LadderSettings) {
  return {
    videoKbps: r.videoKbps,
    maxrateKbps: Math.round(r.videoKbps * ladder.maxrateFactor),
    bufsizeKbps: Math.round(r.videoKbps * ladder.bufsizeFactor),
    audioKbps: r.audioKbps,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

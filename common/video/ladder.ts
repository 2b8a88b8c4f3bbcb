/**
 * The encoding ladder: one table for sizes, bitrates, preset and segment length, and the one
 * resolution of its override (`LADDER_JSON`, plus `SEGMENT_SECONDS`). Owner: this module. Readers:
 * the operator (which rungs a source gets; it passes the raw override on to every Job) and the
 * transcoder (how to encode a rung). Both call `resolveLadder` on the same strings, so they always
 * agree on the rungs.
 *
 * LADDER_JSON is a partial LadderSettings, validated (unknown fields, bad values: a LadderConfigError
 * naming the field). Top-level fields replace the defaults; `rungs` entries merge **by name** into
 * the default rungs, so overriding one field of one rung keeps every other rung and field (a rung
 * not in the table must give every field), e.g.
 *   {"preset":"faster","rungs":[{"name":"720p","videoKbps":2500}]}
 * SEGMENT_SECONDS, when set, wins over LADDER_JSON's segmentSeconds.
 */
import { z } from 'zod';
import { RENDITIONS, type RenditionName } from './constants.js';

export interface LadderRung {
  name: RenditionName;
  width: number;
  height: number;
  /** Video bitrate in kbit/s; maxrate ≈ 1.07×, bufsize 1.5×. */
  videoKbps: number;
  audioKbps: number;
}

export interface LadderSettings {
  rungs: LadderRung[];
  preset: string;
  profile: string;
  segmentSeconds: number;
  gopSeconds: number;
  maxrateFactor: number;
  bufsizeFactor: number;
}

export const DEFAULT_LADDER: LadderSettings = {
  rungs: [
    { name: '480p', width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
    { name: '720p', width: 1280, height: 720, videoKbps: 2800, audioKbps: 128 },
    { name: '1080p', width: 1920, height: 1080, videoKbps: 5000, audioKbps: 128 },
  ],
  preset: 'veryfast',
  profile: 'high',
  segmentSeconds: 6,
  gopSeconds: 2,
  maxrateFactor: 1.07,
  bufsizeFactor: 1.5,
};

export function rung(name: RenditionName, ladder: LadderSettings = DEFAULT_LADDER): LadderRung {
  const r = ladder.rungs.find((x) => x.name === name);
  if (!r) throw new Error(`unknown rendition ${name}`);
  return r;
}

/**
 * Renditions to produce for a source of the given height: the requested ones no taller than the
 * source, and at least the lowest requested one (never upscaled beyond that single rung).
 */
export function selectRenditions(
  requested: readonly RenditionName[],
  sourceHeight: number,
  ladder: LadderSettings = DEFAULT_LADDER,
): RenditionName[] {
  const ordered = ladder.rungs.filter((r) => requested.includes(r.name));
  const fitting = ordered.filter((r) => r.height <= sourceHeight).map((r) => r.name);
  if (fitting.length > 0) return fitting;
  return ordered.length > 0 ? [ordered[0]!.name] : [];
}

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

/** The shape of LADDER_JSON. */
export const ladderOverridesSchema = z
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

export type LadderOverrides = z.infer<typeof ladderOverridesSchema>;

export class LadderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LadderConfigError';
  }
}

/** The raw override strings, as the environment carries them. */
export interface LadderEnv {
  ladderJson?: string | undefined;
  segmentSeconds?: string | undefined;
}

/** Parses LADDER_JSON / SEGMENT_SECONDS (raw env strings) and returns the effective ladder. */
export function resolveLadder(env: LadderEnv, base: LadderSettings = DEFAULT_LADDER): LadderSettings {
  let overrides: LadderOverrides = {};
  const json = env.ladderJson?.trim();
  if (json) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new LadderConfigError(`LADDER_JSON is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = ladderOverridesSchema.safeParse(raw);
    if (!parsed.success) throw new LadderConfigError(`LADDER_JSON: ${formatIssues(parsed.error)}`);
    overrides = parsed.data;
  }
  const seg = env.segmentSeconds?.trim();
  if (seg) {
    const parsed = ladderOverridesSchema.shape.segmentSeconds.safeParse(Number(seg));
    if (!parsed.success || Number.isNaN(Number(seg))) {
      throw new LadderConfigError(
        `SEGMENT_SECONDS must be a number of seconds between 1 and 60, got "${seg}"`,
      );
    }
    overrides = { ...overrides, segmentSeconds: parsed.data };
  }
  return applyOverrides(base, overrides);
}

/** `base` with validated overrides applied (rungs merged by name); checks the result's invariants. */
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

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

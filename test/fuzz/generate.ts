/**
 * Seeded, dependency-free input generation for the fuzz tests: the same seed gives the same inputs, so a failure
 * names its seed and case number and can be replayed (FUZZ_SEED=… to try others; FUZZ_CASES=… for more of them).
 */

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261129);
export const FUZZ_CASES = Number(process.env.FUZZ_CASES ?? 0);

export interface Random {
  /** [0, 1) */
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  bytes(length: number): Buffer;
}

/** mulberry32: small, fast and good enough to spread test inputs. */
export function random(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    chance: (p) => next() < p,
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(0, 255))),
  };
}

/** Characters that break naive parsers and databases: controls, NUL, markup, quotes, surrogates, non-characters. */
const NASTY = ['\u0000', '\u0001', '\u0008', '\u000b', '\u001f', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\ud800', '\udfff', '\ud83d\ude00', '<', '>', '&', '"', "'", '\\', '%', '%00', '\r', '\n', ']]>', '${', '{{', '\u202e', 'é', 'ß', '中'];

/** A short string, often with something nasty in it. */
export function nastyString(r: Random, maxLength = 24): string {
  let s = '';
  const length = r.int(0, maxLength);
  for (let i = 0; i < length; i++) s += r.chance(0.3) ? r.pick(NASTY) : String.fromCharCode(r.int(0x20, 0x7e));
  return s;
}

/** Any JSON value, nested up to `depth`, with nasty strings and odd numbers. */
export function jsonValue(r: Random, depth = 3): unknown {
  const kind = r.int(0, depth > 0 ? 8 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 1.5, 365, 366, 10_000]);
    case 3:
    case 4:
      return nastyString(r);
    case 5:
      return r.pick(['', ' ', 'null', 'true', '0', 'a@b.co', 'not an email', 'x'.repeat(300)]);
    case 6:
      return Array.from({ length: r.int(0, 4) }, () => jsonValue(r, depth - 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(0, 4) }, () => [nastyString(r, 8), jsonValue(r, depth - 1)]));
  }
}

/** An object whose keys are `fields` (some left out, some extra), each given a random value. */
export function objectOf(r: Random, fields: readonly string[], valid: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (r.chance(0.2)) continue;
    out[field] = field in valid && r.chance(0.5) ? valid[field] : jsonValue(r, 1);
  }
  if (r.chance(0.2)) out[nastyString(r, 6)] = jsonValue(r, 1);
  return out;
}

/** Text with a few random edits: deletions, insertions of `alphabet` pieces, truncation. */
export function mutate(r: Random, text: string, alphabet: readonly string[]): string {
  let s = text;
  for (let edits = r.int(1, 4); edits > 0; edits--) {
    const at = r.int(0, s.length);
    switch (r.int(0, 3)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + r.int(1, 8));
        break;
      case 1:
        s = s.slice(0, at) + r.pick(alphabet) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at);
        break;
      default:
        s = s.slice(0, at) + r.pick(alphabet).repeat(r.int(1, 5)) + s.slice(at);
    }
  }
  return s;
}

/** JSON text that is not JSON: truncated, doubled, trailing commas, single quotes, comments, bare words. */
export function brokenJson(r: Random, valid: string): string {
  return r.pick([
    () => valid.slice(0, r.int(0, Math.max(0, valid.length - 1))),
    () => `${valid}${valid}`,
    () => valid.replace(/}$/, ',}'),
    () => valid.replace(/"/g, "'"),
    () => `/* x */${valid}`,
    () => mutate(r, valid, ['{', '}', '[', ']', ',', ':', '"', '\\', 'NaN', 'undefined', '\u0000']),
    () => r.bytes(r.int(1, 64)).toString('latin1'),
  ])();
}

/** JSON nested `depth` deep: arrays or objects. */
export const deepJson = (depth: number, kind: 'array' | 'object' = 'array'): string =>
  kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/**
 * Where a process spent its CPU, from a V8 .cpuprofile (node --cpu-prof): self time by package or source file, and the
 * hottest functions. `node --import tsx bench/profile.ts <file.cpuprofile>` prints it for one file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { root } from './stack';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  /** Share of samples by where the code lives: (idle), (gc), a package, or one of Usher's folders. */
  byArea: { area: string; share: number }[];
  top: { fn: string; where: string; share: number }[];
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const local = url.replace(/^file:\/\//, '');
  if (local.startsWith(root)) return path.relative(root, local).split('/').slice(0, 2).join('/');
  return url;
}

export async function summarizeProfile(file: string, topN = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const total = profile.samples.length || 1;
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byArea = new Map<string, number>();
  const byFn = new Map<string, { fn: string; where: string; n: number }>();
  for (const node of profile.nodes) {
    const n = hits.get(node.id) ?? 0;
    if (!n) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + n);
    const where = url ? `${areaOf(url, functionName)}${url.includes('node_modules') ? '' : `:${lineNumber + 1}`}` : '';
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = byFn.get(key) ?? { fn: functionName || '(anonymous)', where, n: 0 };
    entry.n += n;
    byFn.set(key, entry);
  }
  return {
    file,
    seconds: (profile.endTime - profile.startTime) / 1e6,
    byArea: [...byArea].map(([area, n]) => ({ area, share: n / total })).sort((a, b) => b.share - a.share).slice(0, topN),
    top: [...byFn.values()].map((e) => ({ fn: e.fn, where: e.where, share: e.n / total })).sort((a, b) => b.share - a.share).slice(0, topN),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (v: number) => `${(v * 100).toFixed(1).padStart(5)} %`;
  return [
    `${path.basename(s.file)} (${s.seconds.toFixed(0)} s)`,
    '  by area:',
    ...s.byArea.map((a) => `    ${pct(a.share)}  ${a.area}`),
    '  hottest functions (self time):',
    ...s.top.map((t) => `    ${pct(t.share)}  ${t.fn}  ${t.where}`),
  ].join('\n');
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  for (const file of process.argv.slice(2)) process.stdout.write(`${formatProfile(await summarizeProfile(file))}\n\n`);
}

import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { parseIndexInWorker } from './helm-index-worker.ts';

/**
 * A Helm chart repository's index.yaml, as Clouddriver's IndexParser reads it: `entries` maps each chart
 * name to its versions, each with the URLs of its archive (relative URLs are relative to the repository).
 * Only those are kept: the rest of an index (descriptions, digests, maintainers, …) is most of its size.
 */
export interface ChartVersion {
  version: string;
  urls: string[];
}

export type HelmIndex = Map<string, ChartVersion[]>;

function invalidIndex(repository: string, why: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `invalid index.yaml in repository ${repository}: ${why}`, {});
}

/** The index's charts, parsed off the event loop (helm-index-worker.ts); `deadlineMs` bounds the parse. */
export async function parseHelmIndex(bytes: Buffer, repository: string, deadlineMs: number): Promise<HelmIndex> {
  const parsed = await parseIndexInWorker(bytes, deadlineMs);
  if (parsed.error !== undefined || parsed.entries === undefined) throw invalidIndex(repository, parsed.error ?? 'no answer');
  return new Map(parsed.entries);
}

const SEMVER = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer precedence (a pre-release below its release); versions that are not SemVer sort below, by text. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (pa === null || pb === null) return pa !== null ? 1 : pb !== null ? -1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i] ?? 0) - Number(pb[i] ?? 0);
    if (d !== 0) return d;
  }
  const [prA, prB] = [pa[4], pb[4]];
  if (prA === undefined || prB === undefined) return prA === prB ? 0 : prA === undefined ? 1 : -1;
  const [ia, ib] = [prA.split('.'), prB.split('.')];
  for (let i = 0; i < Math.min(ia.length, ib.length); i++) {
    const d = compareIdentifiers(ia[i]!, ib[i]!);
    if (d !== 0) return d;
  }
  return ia.length - ib.length;
}

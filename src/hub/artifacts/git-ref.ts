import { requestInvalid } from './artifact.ts';

/** The ref Clouddriver reads github/file and gitlab/file artifacts at when the artifact has no version. */
export const DEFAULT_GIT_REF = 'master';

/** The reference with `ref=<version>` appended to its query (OkHttp's addQueryParameter, as Clouddriver builds it). */
export function withRef(reference: string, version: string | undefined): string {
  let url: URL;
  try {
    url = new URL(reference);
  } catch {
    throw requestInvalid('reference', 'is not a URL');
  }
  url.searchParams.append('ref', version === undefined || version === '' ? DEFAULT_GIT_REF : version);
  return url.href;
}

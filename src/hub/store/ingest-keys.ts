import type { FeedKey } from './types.ts';

/**
 * Joins the parts of the ingest's map keys. NUL cannot occur in a stored key (the sync handler skips
 * changes whose keys hold one), so two different objects or feeds never share a key.
 */
export const KEY_SEPARATOR = '\u0000';
const SEP = KEY_SEPARATOR;

/** A feed's identity within an account, for maps. */
export function feedKey(f: FeedKey): string {
  return f.group + SEP + f.kind + SEP + f.namespace;
}

/** A feed's identity across accounts: how the ingest keys the feed rows it loads and writes. */
export function accountFeedKey(account: string, group: string, kind: string, namespace: string): string {
  return account + SEP + group + SEP + kind + SEP + namespace;
}

/** An object's identity across accounts (its primary key). */
export function objectKey(account: string, group: string, kind: string, namespace: string, name: string): string {
  return account + SEP + group + SEP + kind + SEP + namespace + SEP + name;
}

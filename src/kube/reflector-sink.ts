import type { KubeObject } from '../common/kube-object.ts';

/**
 * Why a snapshot (full relist) is being delivered:
 * - 'initial': the reflector's first list.
 * - 'expired': the watch's resourceVersion became too old (410) after running normally.
 * - 'resume-failed': the resourceVersion the reflector was asked to resume from (option or restartFrom) was refused with 410.
 * - 'error': a relist for any other cause (restartFrom(undefined)).
 * A retried list keeps the reason of the list it retries.
 */
export type SnapshotReason = 'initial' | 'expired' | 'resume-failed' | 'error';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Receives one feed (resource × namespace scope). Calls are synchronous and never overlap. A snapshot is
 * onSnapshotBegin, objects, onSnapshotEnd; a new onSnapshotBegin abandons a snapshot that did not end
 * (the list failed part-way) — only an ended snapshot is the complete state. A sink that throws makes the
 * reflector back off and redeliver from its last committed resourceVersion (at-least-once).
 */
export interface ReflectorSink {
  /** A (re)list starts: everything until onSnapshotEnd is the complete state of the feed. */
  onSnapshotBegin(reason: SnapshotReason): void;
  onSnapshotObject(obj: KubeObject): void;
  onSnapshotEnd(resourceVersion: string): void;
  onEvent(type: ChangeType, obj: KubeObject): void;
  /** Progress without a change (bookmark): every event up to this RV has been delivered. */
  onProgress(resourceVersion: string): void;
}

/**
 * A sink that can also take a quiet list: the complete state of the feed, read beside a running watch
 * and not to be forwarded as changes — how a feed that resumed its watch learns what it holds without
 * relisting (anti-entropy after an agent restart). The watch's changes keep arriving through the
 * ReflectorSink methods meanwhile.
 */
export interface VerificationSink {
  /**
   * The list is about to be requested, or requested again after its continue token expired. Returns the
   * resourceVersion the list must be read at exactly (the point the sink's record has reached), or ''
   * for the latest state.
   */
  onVerificationBegin(): string;
  onVerificationObject(obj: KubeObject): void;
  onVerificationEnd(resourceVersion: string): void;
}

export function isVerificationSink(sink: object): sink is VerificationSink {
  return typeof (sink as Partial<VerificationSink>).onVerificationBegin === 'function';
}

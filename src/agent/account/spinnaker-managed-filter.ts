import type { KubeObject } from '../../common/kube-object.ts';
import type { FeedQueue } from '../sync/feed-queue.ts';

const MONIKER_APPLICATION = 'moniker.spinnaker.io/application';

function isSpinnakerManaged(obj: KubeObject): boolean {
  return obj.metadata?.annotations?.[MONIKER_APPLICATION] !== undefined;
}

/**
 * `onlySpinnakerManaged`: passes on only objects carrying Spinnaker's moniker annotation. An object that
 * loses the annotation is forwarded as deleted, so the hub never keeps a copy it should not have; in a
 * relist, unmanaged objects are simply left out (the snapshot end prunes them).
 */
export class SpinnakerManagedFilter {
  constructor(private readonly queue: FeedQueue) {}

  onSnapshotBegin(reason: 'initial' | 'expired' | 'resume-failed' | 'error'): void {
    this.queue.onSnapshotBegin(reason);
  }

  onSnapshotObject(obj: KubeObject): void {
    if (isSpinnakerManaged(obj)) this.queue.onSnapshotObject(obj);
  }

  onSnapshotEnd(resourceVersion: string): void {
    this.queue.onSnapshotEnd(resourceVersion);
  }

  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    if (type !== 'DELETED' && !isSpinnakerManaged(obj)) {
      this.queue.onEvent('DELETED', obj);
      return;
    }
    this.queue.onEvent(type, obj);
  }

  onProgress(resourceVersion: string): void {
    this.queue.onProgress(resourceVersion);
  }

  onVerificationBegin(): string {
    return this.queue.onVerificationBegin();
  }

  onVerificationObject(obj: KubeObject): void {
    if (isSpinnakerManaged(obj)) this.queue.onVerificationObject(obj);
  }

  onVerificationEnd(resourceVersion: string): void {
    this.queue.onVerificationEnd(resourceVersion);
  }
}

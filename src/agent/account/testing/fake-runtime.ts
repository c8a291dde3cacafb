import { create } from '@bufbuild/protobuf';
import { AccountInfoSchema, type AccountInfo } from '../../../protocol/index.ts';
import type { AccountConfig } from '../../config.ts';
import type { RosterRuntime } from '../account-roster.ts';

/**
 * A runtime whose cluster answers as the test says: `reachable` decides whether init() succeeds. Counts
 * its inits and whether it was closed, so a test can tell which accounts a change restarted.
 */
export class FakeRuntime implements RosterRuntime {
  readonly name: string;
  state: RosterRuntime['state'] = 'initialising';
  lastError: string | undefined;
  facts: RosterRuntime['facts'] = undefined;
  resources: RosterRuntime['resources'] = [];
  inits = 0;
  closed = false;

  constructor(
    readonly config: AccountConfig,
    private readonly reachable: () => boolean | string,
  ) {
    this.name = config.name;
  }

  async init(): Promise<void> {
    this.inits++;
    const answer = this.reachable();
    if (answer === true) {
      this.state = 'ready';
      this.lastError = undefined;
      this.facts = { host: `https://${this.name}.example`, caFingerprint: 'ca', kubeSystemUid: `uid-${this.name}`, kubernetesVersion: 'v1.34.0' };
      return;
    }
    this.state = 'failed';
    this.lastError = typeof answer === 'string' ? answer : 'connect ECONNREFUSED';
    throw new Error(this.lastError);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  declaration(): AccountInfo {
    return create(AccountInfoSchema, {
      name: this.name,
      ...(this.state === 'ready'
        ? { cluster: { apiServerHost: this.facts!.host, caFingerprint: 'ca', kubeSystemUid: this.facts!.kubeSystemUid } }
        : { unreachableReason: this.lastError ?? 'not reached yet' }),
    });
  }
}

import {
  foldBatches,
  type AppliedOutcome,
  type BatchInput,
  type FeedRow,
  type FeedScope,
  type IngestPlan,
  type IngestState,
  type ObjectRef,
} from '../ingest-fold.ts';
import { accountFeedKey, objectKey } from '../ingest-keys.ts';

/** An object as the model holds it. */
export interface ModelObject extends ObjectRef {
  epoch: number;
  resourceVersion: string;
}

/**
 * What batch-apply.ts does with a plan, done on maps instead of tables: the reference the fold's specs
 * (ingest-fold.test.ts) state the snapshot contract against — which objects a group keeps and prunes,
 * and the counts only the executor can fill in. The SQL executor meets the same contract end to end on
 * each engine in store.test.ts.
 */
export class IngestPlanModel {
  readonly objects = new Map<string, ModelObject>();
  readonly feedRows = new Map<string, FeedRow>();
  readonly epochs = new Map<string, number>();

  constructor(accounts: readonly string[]) {
    for (const account of accounts) this.epochs.set(account, 0);
  }

  /**
   * What the executor would load: every account's epoch and every feed row. Frozen, so a fold that
   * changed its input would throw.
   */
  state(): IngestState {
    const feeds = new Map<string, Readonly<FeedRow>>();
    for (const [key, row] of this.feedRows) feeds.set(key, Object.freeze({ ...row }));
    return { epochs: new Map(this.epochs), feeds };
  }

  /** Folds one group from the model's state and runs the plan. */
  apply(...inputs: BatchInput[]): { plan: IngestPlan; outcomes: AppliedOutcome[] } {
    const plan = foldBatches(inputs, this.state());
    return { plan, outcomes: this.run(plan) };
  }

  /** Runs a plan's steps, then writes its feed rows and epochs; returns the completed outcomes. */
  run(plan: IngestPlan): AppliedOutcome[] {
    const { outcomes } = plan;
    for (const step of plan.steps) {
      switch (step.step) {
        case 'write':
          for (const d of step.deletes) if (this.objects.delete(objectKey(d.account, d.group, d.kind, d.namespace, d.name))) outcomes[d.batch]!.deleted++;
          for (const { row } of step.upserts) {
            this.objects.set(objectKey(row.account, row.api_group, row.kind, row.namespace, row.name), {
              account: row.account,
              group: row.api_group,
              kind: row.kind,
              namespace: row.namespace,
              name: row.name,
              epoch: row.epoch,
              resourceVersion: row.resource_version,
            });
          }
          for (const t of step.touches) {
            const object = this.objects.get(objectKey(t.account, t.group, t.kind, t.namespace, t.name));
            if (object) {
              object.epoch = t.epoch;
              outcomes[t.batch]!.touched++;
            } else {
              outcomes[t.batch]!.touchesMissed++;
            }
          }
          break;
        case 'prune':
          outcomes[step.batch]!.pruned += this.deleteScope(step, step.olderThanEpoch);
          break;
        case 'dropFeed':
          outcomes[step.batch]!.deleted += this.deleteScope(step, null);
          if (step.deleteRow) this.feedRows.delete(accountFeedKey(step.account, step.group, step.kind, step.namespace));
          break;
      }
    }
    for (const row of plan.feedWrites) this.feedRows.set(accountFeedKey(row.account, row.api_group, row.kind, row.namespace), { ...row });
    for (const [account, { epoch }] of plan.accounts) this.epochs.set(account, epoch);
    return outcomes;
  }

  /** The objects of an account as `kind/namespace/name`, sorted (as store.test.ts lists them). */
  names(account = 'k8s'): string[] {
    return [...this.objects.values()]
      .filter((o) => o.account === account)
      .map((o) => `${o.kind}/${o.namespace}/${o.name}`)
      .sort();
  }

  /** The feed row of an account's feed, if the model holds one. */
  feed(account: string, scope: Omit<FeedScope, 'account'>): FeedRow | undefined {
    return this.feedRows.get(accountFeedKey(account, scope.group, scope.kind, scope.namespace));
  }

  private deleteScope(scope: FeedScope, olderThanEpoch: number | null): number {
    let deleted = 0;
    for (const [key, o] of this.objects) {
      if (o.account !== scope.account || o.group !== scope.group || o.kind !== scope.kind) continue;
      if (scope.namespace !== '' && o.namespace !== scope.namespace) continue;
      if (olderThanEpoch !== null && o.epoch >= olderThanEpoch) continue;
      this.objects.delete(key);
      deleted++;
    }
    return deleted;
  }
}

import type { AccountRecord } from '../../store/types.ts';
import { accountOf, expectObject, type Obj } from './fields.ts';
import type { OpContext, OpHandler, ParsedOp } from './op-handler.ts';
import { checkNamespace, parseTargetFields, resolveTarget, type ManifestTarget } from './targets.ts';

/**
 * The shape shared by the operations that address one existing object by `manifestName` + `location`
 * (scale, pause, resume, rolling restart, undo rollout, enable, disable): parse the common fields and
 * the op's own, resolve the target against the account, then run.
 */
export interface ManifestOpSpec<T> {
  name: string;
  operationClass: string;
  phase: string;
  /** Clouddriver's validator context, e.g. "scaleKubernetesManifest" (named in wrongNamespace errors). */
  validatorContext: string;
  idempotent: boolean | ((extra: T) => boolean);
  /** The target's name field and where its namespace comes from (resizeServerGroup differs). */
  targetField?: string;
  locationFields?: readonly string[];
  /** The op's own fields; 400s name their path. */
  parse(source: Obj, path: string): T;
  run(input: { account: AccountRecord; target: ManifestTarget; extra: T; ctx: OpContext; status: (message: string) => Promise<void> }): Promise<unknown>;
}

export function manifestOp<T>(spec: ManifestOpSpec<T>): OpHandler {
  return {
    name: spec.name,
    operationClass: spec.operationClass,
    phase: spec.phase,
    parse(raw: unknown, path: string): ParsedOp {
      const source = expectObject(raw, path);
      const account = accountOf(source, path);
      const fields = parseTargetFields(source, path, spec.targetField, spec.locationFields);
      const extra = spec.parse(source, path);
      return {
        account,
        idempotent: typeof spec.idempotent === 'function' ? spec.idempotent(extra) : spec.idempotent,
        prepare(record: AccountRecord) {
          const target = resolveTarget(record, fields.kindToken, fields.name, fields.location, fields.path, fields.locationPath);
          if (target.namespaced) checkNamespace(record, target.namespace, fields.locationPath, spec.validatorContext);
          return {
            run: (ctx: OpContext) => spec.run({ account: record, target, extra, ctx, status: (message) => ctx.status(spec.phase, message) }),
          };
        },
      };
    },
  };
}

/** The result of operations Clouddriver returns nothing for: the object's name, which is what Orca waits on. */
export function namedResult(target: ManifestTarget, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { manifestNamesByNamespace: { [target.location]: [target.fullName] }, ...extra };
}

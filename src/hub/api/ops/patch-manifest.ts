import type { KubeObject } from '../../../common/kube-object.ts';
import type { PatchType } from '../../router/types.ts';
import type { AccountRecord } from '../../store/types.ts';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { secretValueRead } from '../../../kube/secret-values.ts';
import { stripSecretData } from '../../manifest/secrets.ts';
import { bindArtifacts, describeArtifacts, parseArtifacts, unboundRequired, type Artifact } from './artifact-binding.ts';
import { Cluster, describeTarget } from './cluster.ts';
import { embeddedDocuments } from './embedded-artifact.ts';
import { at, accountOf, expectObject, invalid, isObject, optionalArray, optionalBoolean, optionalObject, optionalString } from './fields.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';
import { checkNamespace, parseTargetFields, resolveTarget, type ManifestTarget } from './targets.ts';

/**
 * patchManifest: `kubectl patch --type strategic|merge|json` of `manifestName` in `location`. The body
 * is `patchBody` (an object, or a list of JSON-patch operations for `json`), else what Orca's stage
 * context carries in `manifests`, else an `embedded/base64` `manifestArtifact`. For strategic and merge
 * patches the artifacts (`allArtifacts`) are bound into the body first, and every `requiredArtifacts`
 * entry must bind. `options.record` records the change cause as `kubectl --record` does (the
 * `kubernetes.io/change-cause` annotation). A 409 Conflict is retried by the agent after a re-read.
 */
const PHASE = 'PATCH_KUBERNETES_MANIFEST';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const STRATEGIES: readonly PatchType[] = ['strategic', 'merge', 'json'];
const JSON_PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

interface PatchDescription {
  account: string;
  target: ReturnType<typeof parseTargetFields>;
  patchType: PatchType;
  record: boolean;
  body: unknown;
  requiredArtifacts: Artifact[];
  allArtifacts: Artifact[];
  path: string;
}

function parseJsonPatch(body: unknown, path: string): unknown[] {
  if (!Array.isArray(body)) invalid(path, 'a json patch is a list of operations, e.g. [{"op": "replace", "path": "/spec/replicas", "value": 2}]');
  body.forEach((op, i) => {
    const p = at(path, i);
    if (!isObject(op)) invalid(p, 'expected a JSON-patch operation object');
    if (typeof op.op !== 'string' || !JSON_PATCH_OPS.has(op.op)) invalid(at(p, 'op'), `expected one of ${[...JSON_PATCH_OPS].join(', ')}`);
    if (typeof op.path !== 'string') invalid(at(p, 'path'), 'is required');
  });
  return body;
}

export function parsePatchDescription(raw: unknown, path: string): PatchDescription {
  const source = expectObject(raw, path);
  const account = accountOf(source, path);
  const target = parseTargetFields(source, path);
  const options = optionalObject(source, 'options', path) ?? {};
  const optionsPath = at(path, 'options');
  const strategy = (optionalString(options, 'mergeStrategy', optionsPath) ?? 'strategic').toLowerCase() as PatchType;
  if (!STRATEGIES.includes(strategy)) invalid(at(optionsPath, 'mergeStrategy'), `expected one of ${STRATEGIES.join(', ')}`);
  const record = optionalBoolean(options, 'record', optionsPath) ?? false;

  let body: unknown = source.patchBody;
  let bodyPath = at(path, 'patchBody');
  if (body === undefined || body === null) {
    // Orca's stage context carries the patch as `manifests` too; an inline artifact may carry it instead.
    const manifests = optionalArray(source, 'manifests', path)?.filter((m) => m !== null && m !== undefined);
    const documents = manifests !== undefined && manifests.length > 0 ? manifests : embeddedDocuments(source, 'manifestArtifact', path);
    bodyPath = manifests !== undefined && manifests.length > 0 ? at(path, 'manifests') : at(path, 'manifestArtifact');
    if (documents !== undefined && documents.length > 0) body = strategy === 'json' ? documents : documents.length === 1 ? documents[0] : documents;
  }
  if (body === undefined || body === null) invalid(at(path, 'patchBody'), 'is required (patchKubernetesManifest.patchBody.empty)');
  if (strategy === 'json') body = parseJsonPatch(body, bodyPath);
  else {
    if (Array.isArray(body) && body.length === 1) body = body[0];
    if (!isObject(body)) invalid(bodyPath, `a ${strategy} patch is one object (only json patches are lists)`);
  }
  return {
    account,
    target,
    patchType: strategy,
    record,
    body: structuredClone(body),
    requiredArtifacts: parseArtifacts(source, 'requiredArtifacts', path),
    allArtifacts: parseArtifacts(source, 'allArtifacts', path),
    path,
  };
}

async function runPatch(account: AccountRecord, d: PatchDescription, target: ManifestTarget, ctx: OpContext): Promise<unknown> {
  const status = (message: string) => ctx.status(PHASE, message);
  await status(`Beginning patching of manifest in account ${account.name}...`);
  const cluster = new Cluster(ctx, account);
  let boundArtifacts: Artifact[] = [];
  let body = d.body;
  if (d.patchType !== 'json') {
    await status(`Swapping out artifacts in ${target.fullName} from context...`);
    body = structuredClone(d.body) as KubeObject;
    boundArtifacts = bindArtifacts(body as KubeObject, target.group, target.kind, d.allArtifacts, target.namespace, account.name);
    const missing = unboundRequired(d.requiredArtifacts, boundArtifacts);
    if (missing.length > 0) {
      throw invalidOperation(
        `The following required artifacts could not be bound: '${describeArtifacts(missing)}'. Check that the Docker image name above matches the name used in the image field of your manifest. Failing the stage as this is likely a configuration error.`,
      );
    }
  }
  await status(`Submitting manifest ${target.fullName} to Kubernetes master (${d.patchType} patch)...`);
  let patched = await cluster.patch(target, d.patchType, body, describeTarget(target));
  if (d.record) {
    const cause = `spinnaker patchManifest ${target.fullName} --type=${d.patchType} (task ${ctx.taskId})`;
    patched = (await cluster.patch(target, 'merge', { metadata: { annotations: { [CHANGE_CAUSE]: cause } } }, describeTarget(target))) ?? patched;
  }
  await status('Patch manifest operation completed successfully');
  return {
    manifestNamesByNamespace: { [target.location]: [target.fullName] },
    manifests: patched ? [stripSecretData({ ...patched })] : [],
    createdArtifacts: [],
    boundArtifacts,
  };
}

export const patchManifestOp: OpHandler = {
  name: 'patchManifest',
  operationClass: 'KubernetesPatchManifestOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parsePatchDescription(raw, path);
    return {
      account: description.account,
      // Strategic and merge patches set values: sending one again changes nothing. A JSON patch may add
      // to a list or test a value, so it runs again only when asked to.
      idempotent: description.patchType !== 'json',
      prepare(account: AccountRecord): PreparedOp {
        const t = description.target;
        const target = resolveTarget(account, t.kindToken, t.name, t.location, t.path, t.locationPath);
        if (target.namespaced) checkNamespace(account, target.namespace, t.locationPath, 'patchKubernetesManifest');
        // Refused before anything runs; the agent checks again, whoever sends it a patch.
        const why =
          description.patchType === 'json' && target.group === '' && target.kind === 'Secret' ? secretValueRead(description.body as unknown[]) : undefined;
        if (why !== undefined)
          throw new ScaleAgentError(
            Errors.SECRET_VALUES_PROTECTED,
            `${at(description.path, 'patchBody')}: ${why}; a Secret's values stay in its data and stringData`,
            { field: at(description.path, 'patchBody') },
          );
        return { run: (ctx) => runPatch(account, description, target, ctx) };
      },
    };
  },
};

import {
  OperationNodeTransformer,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from 'kysely';
import { MARKER_PREFIX } from './multi-row-insert.ts';
import { withoutNul } from './rows.ts';

/** Whether a parameter needs rewriting: a string with NUL that is not a MultiRowInsert placeholder. */
function hasNul(value: unknown): value is string {
  return typeof value === 'string' && value.includes('\u0000') && !value.startsWith(MARKER_PREFIX);
}

/** Replaces NUL characters in every string parameter of a query (see NoNulPlugin). */
class NoNulTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return hasNul(node.value) ? { ...node, value: withoutNul(node.value) } : node;
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    if (!node.values.some(hasNul)) return node;
    return { ...node, values: node.values.map((v) => (hasNul(v) ? withoutNul(v) : v)) };
  }
}

/**
 * PostgreSQL cannot hold a NUL character in text, and refuses a whole statement that passes one ("invalid
 * byte sequence for encoding UTF8: 0x00"): a task id, account name or label from a request, or a key from
 * an agent, would fail its request with a 500 or its batch forever. Every string parameter is sent with
 * NUL replaced by U+FFFD, as rows.ts's withoutNul does for stored text, so a lookup simply finds nothing
 * and a write stores the replacement. SQLite and MySQL store NUL as it is and need no plugin.
 */
export class NoNulPlugin implements KyselyPlugin {
  private readonly transformer = new NoNulTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

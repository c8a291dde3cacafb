import { Composer, CST, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type YAMLError } from 'yaml';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { requestInvalid } from './http-errors.ts';
import { at } from './ops/fields.ts';

/**
 * Bounds on what a REST caller can make the hub walk. The hub's own walkers (manifest validation,
 * artifact binding, content hashes, structuredClone, JSON.stringify for the store and the agent) and the
 * `yaml` package recurse once per nesting level and overflow the stack a few thousand levels down, so
 * nesting is checked first, here, without recursion; YAML is also bounded in size and in how far its
 * aliases expand. Whatever exceeds a bound is a 400 REQUEST_TOO_COMPLEX naming the limit and the place.
 * Kubernetes itself refuses JSON nested deeper than 10,000 levels; manifests in practice stay far below
 * MAX_NESTING_DEPTH (deeply nested CRD schemas reach a few dozen levels).
 */

/** Containers (objects, arrays) one inside another: a REST body, or one document of a YAML artifact. */
export const MAX_NESTING_DEPTH = 200;

/** Bounds on the YAML of an `embedded/base64` artifact (docs/security.md, "Hostile input and limits"). */
export const YAML_LIMITS = {
  /** Containers one inside another, in the text and in each decoded document (aliases expanded). */
  maxDepth: MAX_NESTING_DEPTH,
  /**
   * Lexical tokens (scalars, indicators, spaces, line breaks, …): bounds the parser's time and memory
   * (the `yaml` package needs about 3 µs per token). Manifests run 120–400 tokens per KiB of YAML, so
   * this admits roughly 1.2–4 MiB of them.
   */
  maxTokens: 500_000,
  /** Documents (`---`) in one artifact. */
  maxDocuments: 1_000,
  /** Anchors (`&a`) plus aliases (`*a`): resolving an alias scans the anchors and aliases before it. */
  maxAnchorsAndAliases: 1_000,
  /** The `yaml` package's maxAliasCount: how often an anchor may be repeated through aliases, weighted by the aliases inside it. */
  maxAliasCount: 100,
  /** Values (scalars and containers) of all decoded documents, every alias counted as a full copy. */
  maxDecodedValues: 1_000_000,
  /** Characters of all strings and keys of the decoded documents, aliases counted as copies (the default request body limit). */
  maxDecodedChars: 32 * 1024 * 1024,
} as const;

export type YamlLimits = { readonly [K in keyof typeof YAML_LIMITS]: number };

/** How many path segments an error message shows before eliding the rest. */
const SHOWN_SEGMENTS = 12;
/** Longest key shown in an error path. */
const SHOWN_KEY_CHARS = 40;

export function tooComplex(field: string, message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.REQUEST_TOO_COMPLEX, field === '' ? message : `${field}: ${message}`, { field, ...details });
}

function shownPath(prefix: string, segments: ReadonlyArray<string | number>): string {
  let path = prefix;
  for (const segment of segments.slice(0, SHOWN_SEGMENTS)) {
    path = at(path, typeof segment === 'string' && segment.length > SHOWN_KEY_CHARS ? `${segment.slice(0, SHOWN_KEY_CHARS)}…` : segment);
  }
  return segments.length > SHOWN_SEGMENTS ? `${path}…` : path;
}

export interface ValueBounds {
  maxDepth: number;
  /** Values visited (scalars and containers, shared ones once per reference); unbounded when absent. */
  maxValues?: number;
  /** Characters of strings and keys visited; unbounded when absent. */
  maxChars?: number;
  /** What the values and characters are counted as, for the message (e.g. "YAML aliases expanded"). */
  what?: string;
}

/** Counts carried across several checkValue calls that share one budget (the documents of an artifact). */
export interface ValueCount {
  values: number;
  chars: number;
}

interface Frame {
  container: object;
  /** The object's keys, or null for an array. */
  keys: string[] | null;
  length: number;
  next: number;
  /** The frame's key in its parent (unused for the root). */
  key: string | number;
}

function frame(container: object, key: string | number): Frame {
  const keys = Array.isArray(container) ? null : Object.keys(container);
  return { container, keys, length: keys === null ? (container as unknown[]).length : keys.length, next: 0, key };
}

/**
 * Walks a parsed value depth-first with an explicit stack (never recursing) and throws REQUEST_TOO_COMPLEX
 * at the first container nested deeper than `maxDepth`, naming its path below `path`. Only the current
 * branch is held (at most maxDepth frames), so a 100,000-level array is refused after maxDepth steps. A
 * value reached twice (YAML aliases) is counted each time, and a cycle is refused as too deep.
 */
export function checkValue(root: unknown, path: string, bounds: ValueBounds, count: ValueCount = { values: 0, chars: 0 }): ValueCount {
  const { maxDepth, maxValues = Infinity, maxChars = Infinity, what = 'the value' } = bounds;
  const stack: Frame[] = [];
  const segments = (last?: string | number) => [...stack.slice(1).map((f) => f.key), ...(last === undefined ? [] : [last])];
  const counted = (value: unknown, key?: string | number) => {
    count.values += 1;
    if (typeof value === 'string') count.chars += value.length;
    if (typeof key === 'string') count.chars += key.length;
    if (count.values > maxValues)
      throw tooComplex(shownPath(path, segments(key)), `${what} holds more than ${maxValues} values; at most ${maxValues} are allowed`, { limit: maxValues });
    if (count.chars > maxChars)
      throw tooComplex(shownPath(path, segments(key)), `${what} holds more than ${maxChars} characters; at most ${maxChars} are allowed`, { limit: maxChars });
  };
  counted(root);
  if (typeof root !== 'object' || root === null) return count;
  if (maxDepth < 1) throw tooComplex(path, `nests deeper than ${maxDepth} levels; at most ${maxDepth} are allowed`, { limit: maxDepth });
  stack.push(frame(root, ''));
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.length) {
      stack.pop();
      continue;
    }
    const index = top.next++;
    const key = top.keys === null ? index : top.keys[index]!;
    const child = top.keys === null ? (top.container as unknown[])[index] : (top.container as Record<string, unknown>)[key];
    counted(child, key);
    if (typeof child !== 'object' || child === null) continue;
    if (stack.length >= maxDepth) {
      throw tooComplex(shownPath(path, segments(key)), `nests deeper than ${maxDepth} levels; at most ${maxDepth} are allowed`, { limit: maxDepth });
    }
    stack.push(frame(child, key));
  }
  return count;
}

/** A JSON value (a REST body) nested at most MAX_NESTING_DEPTH levels; throws REQUEST_TOO_COMPLEX. */
export function checkNesting(value: unknown, path = '', maxDepth = MAX_NESTING_DEPTH): void {
  checkValue(value, path, { maxDepth });
}

function position(lineCounter: LineCounter, offset: number): string {
  const { line, col } = lineCounter.linePos(offset);
  return `line ${line}, column ${col}`;
}

function yamlError(error: YAMLError, lineCounter: LineCounter): string {
  return error.pos[0] >= 0 ? `${error.message} at ${position(lineCounter, error.pos[0])}` : error.message;
}

/**
 * The first repeated key of a mapping, found with a set per mapping (the `yaml` package's own check
 * compares every pair of keys, quadratic in a mapping's size). Keys repeat when their scalar values are
 * strictly equal, as that check defines it.
 */
function duplicateKey(doc: Document.Parsed): { key: unknown; offset: number } | undefined {
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        if (key === null || isScalar(key)) {
          const value = key === null ? null : key.value;
          if (seen.has(value)) return { key: value, offset: isScalar(key) ? (key.range?.[0] ?? -1) : -1 };
          seen.add(value);
        }
        pending.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(item);
    }
  }
  return undefined;
}

/**
 * Parses a YAML stream (JSON included) into its documents' values, bounded by `limits`: the tokens, the
 * documents, the anchors and aliases and the nesting are counted while the text is read, before the
 * `yaml` package builds anything recursively; aliases are limited by its maxAliasCount, and the decoded
 * documents (aliases expanded) by depth, values and characters. `path` is the field the text came from.
 * Throws REQUEST_TOO_COMPLEX past a limit and REQUEST_INVALID for YAML that does not parse.
 */
export function parseYamlDocuments(text: string, path: string, documentPath: (index: number) => string, limits: YamlLimits = YAML_LIMITS): unknown[] {
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  const parser = new Parser(lineCounter.addNewLine);
  let tokens = 0;
  let anchorsAndAliases = 0;
  let documents = 0;
  // The lexeme after a scalar marker is the scalar's text: not classified, as the parser does it.
  let atScalar = false;
  const where = () => position(lineCounter, parser.offset);
  function* bounded(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      if (++tokens > limits.maxTokens)
        throw tooComplex(path, `the YAML has more than ${limits.maxTokens} tokens (at ${where()}); at most ${limits.maxTokens} are allowed`, {
          limit: limits.maxTokens,
        });
      if (atScalar) atScalar = false;
      else {
        const type = CST.tokenType(lexeme);
        if (type === 'scalar') atScalar = true;
        else if ((type === 'anchor' || type === 'alias') && ++anchorsAndAliases > limits.maxAnchorsAndAliases) {
          throw tooComplex(
            path,
            `the YAML has more than ${limits.maxAnchorsAndAliases} anchors and aliases (at ${where()}); at most ${limits.maxAnchorsAndAliases} are allowed`,
            { limit: limits.maxAnchorsAndAliases },
          );
        }
      }
      for (const token of parser.next(lexeme)) {
        if (token.type === 'document' && ++documents > limits.maxDocuments) {
          throw tooComplex(path, `the YAML has more than ${limits.maxDocuments} documents; at most ${limits.maxDocuments} are allowed`, {
            limit: limits.maxDocuments,
          });
        }
        yield token;
      }
      // The parser's stack: the document, then one entry per open collection (and briefly a scalar).
      if (parser.stack.length > limits.maxDepth + 2) {
        throw tooComplex(path, `the YAML nests deeper than ${limits.maxDepth} levels (at ${where()}); at most ${limits.maxDepth} are allowed`, {
          limit: limits.maxDepth,
        });
      }
    }
    for (const token of parser.end()) {
      if (token.type === 'document' && ++documents > limits.maxDocuments) {
        throw tooComplex(path, `the YAML has more than ${limits.maxDocuments} documents; at most ${limits.maxDocuments} are allowed`, {
          limit: limits.maxDocuments,
        });
      }
      yield token;
    }
  }
  // uniqueKeys: false — duplicate keys are found by duplicateKey() instead, in linear time.
  const composer = new Composer({ uniqueKeys: false });
  const docs = Array.from(composer.compose(bounded()));
  const values: unknown[] = [];
  const count: ValueCount = { values: 0, chars: 0 };
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) throw requestInvalid(`${path}: is not valid YAML or JSON: ${yamlError(doc.errors[0]!, lineCounter)}`, { field: path });
    const duplicate = duplicateKey(doc);
    if (duplicate !== undefined) {
      const place = duplicate.offset >= 0 ? ` at ${position(lineCounter, duplicate.offset)}` : '';
      throw requestInvalid(`${path}: is not valid YAML or JSON: map keys must be unique (${JSON.stringify(duplicate.key) ?? String(duplicate.key)}${place})`, {
        field: path,
      });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      if (err instanceof ReferenceError && /alias count/i.test(err.message)) {
        throw tooComplex(
          path,
          `the YAML's aliases expand too far (${err.message}); an anchor may be repeated at most ${limits.maxAliasCount} times, counting the aliases inside it`,
          { limit: limits.maxAliasCount },
        );
      }
      throw requestInvalid(`${path}: is not valid YAML or JSON: ${(err as Error).message}`, { field: path });
    }
    checkValue(
      value,
      documentPath(index),
      { maxDepth: limits.maxDepth, maxValues: limits.maxDecodedValues, maxChars: limits.maxDecodedChars, what: 'the decoded YAML (aliases expanded)' },
      count,
    );
    values.push(value);
  });
  return values;
}

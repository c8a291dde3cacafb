import type { ObjectMeta } from '../common/kube-object.ts';

/**
 * An object's JSON as it is sent on, and where its top-level `metadata` value lies in it, in UTF-8 bytes
 * (the agent's ObjectJson has the same shape).
 */
export interface SlimJson {
  body: string;
  /** UTF-8 size of `body`. */
  bodyBytes: number;
  metadata: { offset: number; length: number } | undefined;
}

/**
 * A list item slimmed from its bytes (slim-list.ts): the JSON slimObject would leave of it, written in
 * kubectl's member order, with the metadata fields a feed keys it by. No tree of the object is built;
 * `metadata` is parsed from the JSON on first use (a sink that filters by annotations), and `toJSON()`
 * gives the slimmed object, so JSON.stringify of an item reads as JSON.stringify of the slimmed object.
 */
export class SlimItem {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly json: SlimJson;
  #metadata: ObjectMeta | undefined;

  constructor(kind: string, apiVersion: string, namespace: string, name: string, uid: string, resourceVersion: string, json: SlimJson, metadata?: ObjectMeta) {
    this.kind = kind;
    this.apiVersion = apiVersion;
    this.namespace = namespace;
    this.name = name;
    this.uid = uid;
    this.resourceVersion = resourceVersion;
    this.json = json;
    this.#metadata = metadata;
  }

  /** The slimmed metadata. An ASCII body (the only kind created without `metadata`) has as many characters as bytes. */
  get metadata(): ObjectMeta {
    const range = this.json.metadata!;
    this.#metadata ??= JSON.parse(this.json.body.slice(range.offset, range.offset + range.length)) as ObjectMeta;
    return this.#metadata;
  }

  toJSON(): unknown {
    return JSON.parse(this.json.body);
  }
}

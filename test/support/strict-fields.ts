/**
 * What a real API server's strict field validation refuses (`kubectl apply` sends `fieldValidation=Strict`
 * by default: `strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolcy"`),
 * and the 400 a value of the wrong JSON type gets, checked against the Kubernetes v1.34 types: the models
 * of @kubernetes/client-node (generated from the same OpenAPI) for built-in kinds, a CRD's structural
 * schema for custom resources. The sim knows the fields it validates, not every field of every type, so
 * tests of manifests meant for real clusters run this too.
 */
import * as k8s from '@kubernetes/client-node';
import { splitApiVersion } from '../../src/common/kube-object.ts';

type Json = any;

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}

const MODELS = k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] } | undefined>;
const MAP_OF = /^\{ \[key: string\]: (.*); \}$/;
const ARRAY_OF = /^Array<(.*)>$/;

/** A CRD version's openAPIV3Schema, for custom resources: key `group/Kind`. */
export type CustomSchemas = Map<string, Json>;

function modelOf(apiVersion: string, kind: string): Attribute[] | undefined {
  const { version } = splitApiVersion(apiVersion);
  return MODELS[`${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`]?.attributeTypeMap;
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

function checkTyped(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const map = MAP_OF.exec(type);
  if (map) {
    if (describe(value) !== 'object') problems.push(`${path}: expected a map, got ${describe(value)}`);
    else for (const [key, item] of Object.entries(value as Json)) checkTyped(item, map[1]!, `${path}[${key}]`, problems);
    return;
  }
  const array = ARRAY_OF.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${path}: expected a list, got ${describe(value)}`);
    else value.forEach((item, i) => checkTyped(item, array[1]!, `${path}[${i}]`, problems));
    return;
  }
  switch (type) {
    case 'string':
    case 'Date':
      if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${describe(value)} ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${describe(value)} ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean, got ${describe(value)} ${JSON.stringify(value)}`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && typeof value !== 'number') problems.push(`${path}: expected an int or a string, got ${describe(value)}`);
      return;
    case 'any':
    case 'object':
      return;
    default: {
      const attributes = MODELS[type]?.attributeTypeMap;
      if (attributes === undefined) throw new Error(`strict-fields: no model ${type} for ${path}`);
      checkObject(value, attributes, path, problems);
    }
  }
}

function checkObject(value: unknown, attributes: Attribute[], path: string, problems: string[]): void {
  if (describe(value) !== 'object') {
    problems.push(`${path}: expected an object, got ${describe(value)}`);
    return;
  }
  const byName = new Map(attributes.map((a) => [a.baseName, a]));
  for (const [key, item] of Object.entries(value as Json)) {
    const attribute = byName.get(key);
    const at = path === '' ? key : `${path}.${key}`;
    if (attribute === undefined) problems.push(`unknown field "${at}"`);
    else checkTyped(item, attribute.type, at, problems);
  }
}

const SCHEMA_TYPES: Record<string, string> = { string: 'string', integer: 'number', number: 'number', boolean: 'boolean', object: 'object', array: 'array' };

function checkSchema(value: unknown, schema: Json, path: string, problems: string[]): void {
  if (value === null || value === undefined || schema === undefined) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && typeof value !== 'number') problems.push(`${path}: expected an int or a string, got ${describe(value)}`);
    return;
  }
  const expected = SCHEMA_TYPES[schema.type as string];
  if (expected !== undefined && describe(value) !== expected) {
    problems.push(`${path}: expected ${schema.type}, got ${describe(value)} ${JSON.stringify(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkSchema(item, schema.items, `${path}[${i}]`, problems));
    return;
  }
  if (describe(value) !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
  for (const [key, item] of Object.entries(value as Json)) {
    const at = path === '' ? key : `${path}.${key}`;
    const property = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (property === undefined) problems.push(`unknown field "${at}"`);
    else checkSchema(item, property, at, problems);
  }
}

/** Every field of `object` a real API server would refuse or fail to decode (empty when it would take it). */
export function strictFieldProblems(object: Json, customSchemas: CustomSchemas = new Map()): string[] {
  const problems: string[] = [];
  const attributes = modelOf(object.apiVersion, object.kind);
  if (attributes !== undefined) {
    checkObject(object, attributes, '', problems);
    return problems;
  }
  const { group } = splitApiVersion(object.apiVersion);
  const schema = customSchemas.get(`${group}/${object.kind}`);
  if (schema === undefined) return [`no type known for ${object.apiVersion} ${object.kind}`];
  const { apiVersion: _a, kind: _k, metadata, ...rest } = object;
  checkObject({ metadata }, [{ name: 'metadata', baseName: 'metadata', type: 'V1ObjectMeta' }], '', problems);
  checkSchema(rest, schema, '', problems);
  return problems;
}

/** The openAPIV3Schema of each kind a CustomResourceDefinition defines (its storage version). */
export function schemasOfDefinition(definition: Json): CustomSchemas {
  const version = (definition.spec.versions as Json[]).find((v) => v.storage) ?? definition.spec.versions[0];
  return new Map([[`${definition.spec.group}/${definition.spec.names.kind}`, version.schema.openAPIV3Schema]]);
}

import type { ApiResource } from '../../kube/api-resource.ts';

/** The REST path of a resource collection, or of one object when `name` is given. */
export function resourcePath(resource: Pick<ApiResource, 'group' | 'resource' | 'namespaced'>, version: string, namespace: string, name?: string, subresource?: string): string {
  const root = resource.group === '' ? `/api/${version}` : `/apis/${resource.group}/${version}`;
  const scope = resource.namespaced && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${root}${scope}/${resource.resource}${object}${sub}`;
}

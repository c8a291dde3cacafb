import type { FastifyInstance } from 'fastify';
import { notFound } from '../http-errors.ts';
import { projectClusters } from '../projects/project-clusters.ts';
import type { RouteContext } from './route-context.ts';

/**
 * GET /projects/{project}/clusters (Clouddriver's ProjectController): the project's configuration from
 * Front50 (front50.baseUrl; its name lower-cased first, as Clouddriver does), its clusters from the
 * cache. A project Front50 does not have is Clouddriver's 404; so is every project while the hub has no
 * Front50 configured, since it then knows none (docs/spinnaker.md). Front50 failing is a 502
 * FRONT50_UNAVAILABLE (Clouddriver passes Front50's status on, or answers 500).
 */
export function projectRoutes(app: FastifyInstance, { views, front50 }: RouteContext): void {
  app.get<{ Params: { project: string } }>('/projects/:project/clusters', async (request) => {
    const name = request.params.project;
    if (front50 === undefined) {
      throw notFound(`Project not found (name: ${name}): the hub reads projects from Front50, and front50.baseUrl is not set`, { project: name });
    }
    const project = await front50.project(name.toLowerCase());
    if (project === undefined) throw notFound(`Project not found (name: ${name})`, { project: name });
    return projectClusters(project, views);
  });
}

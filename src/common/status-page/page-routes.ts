import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE_HEADERS, statusPageHtml } from './page-shell.ts';
import { STATUS_PAGE_CSS } from './page-style.ts';

/** Where a status page's parts are served: the page at `/`, its script and style under `/status/`. */
export const STATUS_PAGE_PATHS = { page: '/', script: '/status/page.js', style: '/status/page.css' } as const;

/**
 * Serves a status page (the hub's or an agent's): the HTML shell titled `title`, `script` (the page runtime
 * with the part's own drawing code) and the shared style, each with the page's security headers.
 */
export function statusPageRoutes(app: FastifyInstance, options: { title: string; script: string }): void {
  const html = statusPageHtml({ title: options.title, heading: options.title });
  app.get(STATUS_PAGE_PATHS.page, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/html; charset=utf-8');
    return html;
  });
  app.get(STATUS_PAGE_PATHS.script, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/javascript; charset=utf-8');
    return options.script;
  });
  app.get(STATUS_PAGE_PATHS.style, async (_request, reply) => {
    reply.headers(STATUS_PAGE_HEADERS).type('text/css; charset=utf-8');
    return STATUS_PAGE_CSS;
  });
}

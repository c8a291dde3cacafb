/**
 * The one-page status views of the hub (GET /) and of the agent's admin port (GET /): a static HTML
 * shell, one stylesheet and one script from the same origin. The script fetches JSON and builds the DOM
 * with textContent only, so account names and error messages (which agents, clusters and users
 * influence) are never parsed as HTML; the Content-Security-Policy below makes any slip inert too.
 */

/**
 * Nothing but same-origin scripts, styles and fetches: no inline script or style, no plugin, no frame,
 * no form target, no other origin (the page must work on a machine without network access). `data:`
 * images only for the empty favicon that keeps the browser from asking for /favicon.ico.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers of every part of the page and of the JSON it reads. */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': STATUS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The page's script and style, relative to the page so that it also works behind a path prefix. */
export const STATUS_PAGE_SCRIPT_PATH = 'status/page.js';
export const STATUS_PAGE_STYLE_PATH = 'status/page.css';

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The page's shell: the script fills `#app` (and the header's `#meta`) from the JSON it polls. */
export function statusPageHtml(options: { title: string; heading: string }): string {
  const title = escapeHtml(options.title);
  const heading = escapeHtml(options.heading);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STATUS_PAGE_STYLE_PATH}">
</head>
<body>
<header><h1>${heading}</h1><span id="subject" class="subject"></span><span id="meta" class="meta">loading…</span></header>
<div id="banner" class="banner" hidden></div>
<main id="app"><noscript>This page needs JavaScript; its data is JSON you can read directly.</noscript></main>
<script src="${STATUS_PAGE_SCRIPT_PATH}"></script>
</body>
</html>
`;
}

/**
 * The browser side the hub's and the agent's status pages share: DOM builders that only ever set
 * textContent (and className, title), formatting, and the polling loop. A page script (the hub's,
 * the agent's) is appended and calls `startPolling`. Plain ES2017 for any current browser; it is a
 * string here because the packaged build ships only compiled TypeScript (a unit test parses it).
 *
 * Page scripts may use: el(tag, className, children, title), text(value), pill(state, label),
 * ago(seconds), duration(ms), clock(iso), table(headers, rows, emptyText), section(title, count,
 * content), cards(list), getJson(path, acceptStatuses), startPolling({ load, render }). `render`
 * returns { nodes, subject, refreshMs, viewer }.
 */
/** How often a page polls unless its data says otherwise (the hub's does: status-data.ts). */
export const DEFAULT_REFRESH_MS = 2_000;
/** The longest wait between attempts after failed loads (each failure doubles the wait). */
export const MAX_RETRY_MS = 60_000;

const RUNTIME = String.raw`
var app = document.getElementById('app');
var meta = document.getElementById('meta');
var subjectNode = document.getElementById('subject');
var banner = document.getElementById('banner');

function text(value) {
  return document.createTextNode(value === null || value === undefined ? '' : String(value));
}

function appendAll(node, children) {
  if (children === null || children === undefined || children === false) return;
  if (!Array.isArray(children)) children = [children];
  for (var i = 0; i < children.length; i++) {
    var c = children[i];
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) appendAll(node, c);
    else node.appendChild(typeof c === 'object' ? c : text(c));
  }
}

/** An element; children are nodes or values shown as text (never parsed as HTML). */
function el(tag, className, children, title) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (title) node.title = String(title);
  appendAll(node, children);
  return node;
}

/** The class of a state (an enum the server computes; anything unexpected gets the neutral style). */
function stateClass(state) {
  var s = String(state === null || state === undefined ? '' : state).toLowerCase();
  return /^[a-z][a-z_-]{0,40}$/.test(s) ? 's-' + s.replace(/_/g, '-') : 's-other';
}

function pill(state, label, title) {
  var node = el('span', 'pill ' + stateClass(state), label === undefined ? String(state) : label, title);
  node.setAttribute('data-state', String(state));
  return node;
}

/** Seconds as a short age: 7s, 4m 10s, 2h 5m, 3d 4h. */
function ago(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  var s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}

/** An ISO time as the browser's local clock time. */
function clock(iso) {
  if (!iso) return '–';
  var d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}

/**
 * A table: headers are strings or {label, num}; a row is an array of cells, a row object
 * {cells, className, key}, and a cell is a value, a node, or {value, className, title}.
 */
function table(headers, rows, emptyText) {
  if (!rows || rows.length === 0) return el('div', 'empty', emptyText || 'none');
  var head = el('tr', null, headers.map(function (h) {
    return el('th', typeof h === 'object' && h.num ? 'num' : null, typeof h === 'object' ? h.label : h);
  }));
  var body = rows.map(function (row) {
    var cells = Array.isArray(row) ? row : row.cells;
    var tr = el('tr', Array.isArray(row) ? null : row.className || null, cells.map(function (cell, i) {
      var num = typeof headers[i] === 'object' && headers[i].num;
      if (cell !== null && typeof cell === 'object' && !(cell instanceof Node) && !Array.isArray(cell)) {
        return el('td', [num ? 'num' : '', cell.className || ''].join(' ').trim() || null, cell.value, cell.title);
      }
      return el('td', num ? 'num' : null, cell);
    }));
    if (!Array.isArray(row) && row.key !== undefined) tr.setAttribute('data-key', String(row.key));
    return tr;
  });
  return el('table', null, [el('thead', null, head), el('tbody', null, body)]);
}

function section(title, count, content, id) {
  var node = el('section', null, [el('h2', null, [title, count === null || count === undefined ? null : el('span', 'count', ' ' + count)]), content]);
  if (id) node.id = id;
  return node;
}

/** Summary cards: [{label, value, state}]. */
function cards(list) {
  return el('div', 'cards', list.map(function (c) {
    return el('div', 'card ' + (c.state ? stateClass(c.state) : ''), [el('div', 'n', c.value), el('div', 'l', c.label)], c.title);
  }));
}

/** GET a same-origin JSON document; statuses outside 2xx fail unless listed in accept (e.g. a 503 DOWN health body). */
function getJson(path, accept) {
  return fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' }).then(function (response) {
    return response.text().then(function (body) {
      var parsed;
      try {
        parsed = JSON.parse(body);
      } catch (e) {
        parsed = undefined;
      }
      if (!response.ok && !(accept && accept.indexOf(response.status) >= 0)) {
        var why = parsed && (parsed.message || parsed.error) ? String(parsed.message || parsed.error) : body.slice(0, 200);
        throw new Error(path + ': HTTP ' + response.status + (why ? ' — ' + why : ''));
      }
      if (parsed === undefined) throw new Error(path + ': not JSON');
      return parsed;
    });
  });
}

var DEFAULT_REFRESH_MS = ${DEFAULT_REFRESH_MS};
var MAX_RETRY_MS = ${MAX_RETRY_MS};

/**
 * Loads and renders now and then every refresh interval (the render's own, else the default): the page
 * stays current without reloading. While the page is hidden (another tab, a minimised window) it asks
 * nothing: the next load waits until it is shown again, then runs at once. A failed load keeps the last
 * view and says why in the banner; each attempt after a failure waits twice as long as the wait before
 * it (the refresh interval, then the last retry's), up to MAX_RETRY_MS, so that a hub or agent in trouble is not polled harder by every
 * open page; the first load that succeeds returns to the refresh interval.
 */
function startPolling(page) {
  var timer = null;
  var every = DEFAULT_REFRESH_MS;
  var retryMs = 0;
  var loading = false;
  var waitingToBeShown = false;
  function schedule(ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }
  function tick() {
    timer = null;
    if (document.hidden) {
      waitingToBeShown = true;
      return;
    }
    waitingToBeShown = false;
    loading = true;
    page.load().then(function (data) {
      loading = false;
      var view = page.render(data);
      app.replaceChildren.apply(app, view.nodes);
      subjectNode.textContent = view.subject || '';
      every = view.refreshMs || DEFAULT_REFRESH_MS;
      retryMs = 0;
      meta.textContent = 'updated ' + new Date().toLocaleTimeString() + ' · every ' + Math.round(every / 1000) + ' s' + (view.viewer ? ' · ' + view.viewer : '');
      banner.hidden = true;
      banner.textContent = '';
      schedule(every);
    }).catch(function (err) {
      loading = false;
      retryMs = Math.min((retryMs || every) * 2, MAX_RETRY_MS);
      banner.textContent = 'Could not refresh: ' + (err && err.message ? err.message : String(err));
      banner.hidden = false;
      meta.textContent = 'update failed ' + new Date().toLocaleTimeString() + ' · next try in ' + Math.round(retryMs / 1000) + ' s';
      schedule(retryMs);
    });
  }
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && waitingToBeShown && !loading && timer === null) tick();
  });
  tick();
}
`;

/** The page's script: the shared runtime and one page's own code, in one strict-mode scope. */
export function statusPageScript(pageScript: string): string {
  return `(function () {\n'use strict';\n${RUNTIME}\n${pageScript}\n})();\n`;
}

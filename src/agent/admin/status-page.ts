import type { FastifyInstance } from 'fastify';
import { STATUS_PAGE_PATHS, statusPageRoutes } from '../../common/status-page/page-routes.ts';
import { statusPageScript } from '../../common/status-page/page-runtime.ts';

/** The most unhealthy watches the page lists one per row (every watch is a chip of its account); /watches has them all. */
const WATCH_ROWS_SHOWN = 400;
/** How often the page asks again; past AGENT_STATUS_LARGE_WATCHES watches, every AGENT_STATUS_LARGE_REFRESH_MS. */
export const AGENT_STATUS_REFRESH_MS = 2_000;
/**
 * Past this many watches an answer (every watch, in /watches) is large enough to be asked for less often:
 * each poll serialises them all on the agent's event loop, which also streams the clusters' changes.
 */
export const AGENT_STATUS_LARGE_WATCHES = 5_000;
export const AGENT_STATUS_LARGE_REFRESH_MS = 10_000;

/**
 * The agent's page in the browser: polls the admin port's own JSON (/health, /accounts, /watches) and
 * draws the hub connection, the configuration reloads, the accounts and each watch's state and
 * freshness. Runs on the shared runtime (src/common/status-page/page-runtime.ts): text only, no HTML.
 */
const AGENT_PAGE_SCRIPT = String.raw`
var WATCH_ROWS_SHOWN = ${WATCH_ROWS_SHOWN};
var REFRESH_MS = ${AGENT_STATUS_REFRESH_MS};
var LARGE_WATCHES = ${AGENT_STATUS_LARGE_WATCHES};
var LARGE_REFRESH_MS = ${AGENT_STATUS_LARGE_REFRESH_MS};

function hubStanding(a) {
  var h = a.hub;
  if (!h) return pill('undeclared');
  if (h.state === 'accepted' && a.state === 'failed') return pill('unreachable', 'declared unreachable', 'the hub keeps the account registered, with this reason');
  if (h.state === 'accepted') return pill(h.caching ? 'caching' : 'standby', h.caching ? 'accepted · caching' : 'accepted · standby');
  if (h.state === 'refused') return pill('refused', 'refused', h.code + ': ' + h.reason);
  return pill(h.state);
}

function unhealthy(w) {
  return w.stuck !== null || w.state === 'forbidden' || w.state === 'backoff' || !!w.digest.divergedSince;
}

/** A watch's chip state: stuck and diverged first, then the reflector's own state. */
function watchState(w) {
  if (w.stuck) return 'stuck';
  if (w.digest.divergedSince) return 'diverged';
  return w.state;
}

function watchTitle(w) {
  var lines = [(w.group ? w.group + '/' : '') + w.version + ' ' + w.kind + (w.namespace ? ' in ' + w.namespace : ' (all namespaces)')];
  lines.push(w.state + ' since ' + w.stateSince + '; last event or progress ' + ago(w.freshnessSeconds) + ' ago');
  lines.push('pending ' + w.pending + ', known ' + w.known + ', relists ' + w.relists + ', watch restarts ' + w.watchRestarts + ', errors ' + w.errors);
  lines.push(w.digest.divergedSince ? 'differs from the hub since ' + w.digest.divergedSince : w.digest.lastMatchAt ? 'matched the hub ' + w.digest.lastMatchAt : 'not compared with the hub yet');
  if (w.stuck) lines.push('stuck: ' + w.stuck);
  if (w.forbiddenReason) lines.push('forbidden: ' + w.forbiddenReason);
  if (w.lastError) lines.push('last error: ' + w.lastError.message);
  return lines.join('\n');
}

function watchChips(watches) {
  if (watches.length === 0) return el('span', 'muted', 'no watches');
  return el('div', 'chips', watches.map(function (w) {
    return el('span', 'chip ' + stateClass(watchState(w)), [el('b', null, w.kind + (w.namespace ? '@' + w.namespace : '')), ' ' + ago(w.freshnessSeconds)], watchTitle(w));
  }));
}

function accountRows(accounts, watches) {
  return accounts.map(function (a) {
    var w = a.watches;
    var own = watches.filter(function (x) { return x.account === a.name; });
    var reasons = [];
    if (a.lastError) reasons.push(el('div', null, a.lastError));
    if (a.hub && a.hub.state === 'refused') reasons.push(el('div', null, 'refused by the hub (' + a.hub.code + '): ' + a.hub.reason));
    a.forbiddenKinds.forEach(function (f) { reasons.push(el('div', null, 'may not watch ' + f.kind + (f.namespace ? ' in ' + f.namespace : '') + ': ' + f.reason)); });
    return {
      key: a.name,
      cells: [
        { value: [el('b', null, a.name), a.cluster && a.cluster.kubernetesVersion ? el('div', 'muted', a.cluster.kubernetesVersion) : null], className: 'name' },
        pill(a.state),
        pill(a.source),
        hubStanding(a),
        { value: w.byState.watching + ' / ' + w.total, className: 'num' },
        { value: w.stalest ? ago(w.stalest.freshnessSeconds) : '–', className: 'num', title: w.stalest ? 'stalest: ' + w.stalest.feed : '' },
        { value: w.pending + ' / ' + w.known, className: 'num' },
        { value: a.syncStream ? a.syncStream.unackedBatches : '–', className: 'num' },
        watchChips(own),
        { value: reasons, className: 'reason' },
      ],
    };
  });
}

function digestState(d) {
  if (d.divergedSince) return pill('diverged', 'diverged', 'differs since ' + d.divergedSince + ' (' + d.divergences + ' so far)');
  if (d.verifying) return pill('verifying');
  if (d.unverifiable) return pill('unchecked', 'unverifiable', 'resourceVersions are not ordered: checked from the next relist');
  if (d.lastMatchAt) return pill('matching', 'matching', 'last match ' + d.lastMatchAt);
  return pill('unchecked');
}

/** The watches that need a look (stuck, refused, backing off, differing from the hub), at most WATCH_ROWS_SHOWN. */
function problemRows(watches) {
  return watches.filter(unhealthy).slice(0, WATCH_ROWS_SHOWN).map(function (w) {
    var problem = w.stuck || w.forbiddenReason || (w.lastError ? w.lastError.message : '');
    return {
      key: w.account + ' ' + w.group + ' ' + w.kind + ' ' + w.namespace,
      cells: [
        w.account,
        [el('b', null, w.kind), w.group ? el('span', 'muted', ' ' + w.group) : null],
        w.namespace || el('span', 'muted', 'all'),
        pill(watchState(w), w.stuck ? 'stuck · ' + w.state : w.state),
        { value: ago(w.freshnessSeconds), className: 'num', title: 'since the last event or progress of the watch' },
        digestState(w.digest),
        { value: w.relists + ' / ' + w.watchRestarts, className: 'num' },
        { value: problem, className: 'reason' },
      ],
    };
  });
}

function render(d) {
  var health = d.health, accounts = d.accounts, watches = d.watches;
  var config = health.config;
  var ready = accounts.filter(function (a) { return a.state === 'ready'; }).length;
  var problems = watches.filter(unhealthy).length;
  var nodes = [
    cards([
      { label: 'health', value: health.status, state: health.status === 'UP' ? 'up' : 'down' },
      { label: 'hub connection', value: health.hub.state, state: health.hub.state === 'connected' ? 'ok' : 'bad', title: health.hub.lastError || '' },
      { label: 'accounts ready', value: ready + ' / ' + accounts.length, state: ready === accounts.length ? 'ok' : 'warn' },
      { label: 'refused by the hub', value: health.accounts.refused.length, state: health.accounts.refused.length > 0 ? 'bad' : 'ok' },
      { label: 'watches', value: health.watches.total, state: 'ok' },
      { label: 'stuck', value: health.watches.stuck, state: health.watches.stuck > 0 ? 'bad' : 'ok' },
      { label: 'forbidden kinds', value: health.watches.forbidden, state: health.watches.forbidden > 0 ? 'warn' : 'ok' },
      { label: 'config reload', value: !config ? 'off' : config.lastError ? 'failing' : 'ok', state: config && config.lastError ? 'bad' : 'ok',
        title: config && config.lastError ? config.lastError.message : '' },
    ]),
    el('div', 'grid2', [
      section('Hub connection', null, table(['State', 'Last error'], [[pill(health.hub.state), { value: health.hub.lastError || '', className: 'reason' }]]), 'hub'),
      section('Configuration', null, table(
        ['Loaded', { label: 'Reloads', num: true }, { label: 'Failures', num: true }, 'Last error'],
        config ? [[clock(config.loadedAt), config.reloads, config.failures, { value: config.lastError ? config.lastError.message + ' (' + clock(config.lastError.at) + ')' : '', className: 'reason' }]] : [],
        'the agent does not follow its configuration files',
      ), 'config'),
    ]),
    section('Accounts', accounts.length, table(
      ['Account', 'State', 'Source', 'Hub', { label: 'Watching', num: true }, { label: 'Stalest', num: true }, { label: 'Pending / known', num: true },
        { label: 'Unacked', num: true }, 'Kinds · since last event', 'Reason'],
      accountRows(accounts, watches),
      'no account configured',
    ), 'accounts'),
    section('Watches needing attention', problems > WATCH_ROWS_SHOWN ? WATCH_ROWS_SHOWN + ' of ' + problems : problems, table(
      ['Account', 'Kind', 'Namespace', 'State', { label: 'Freshness', num: true }, 'Digest', { label: 'Relists / restarts', num: true }, 'Problem'],
      problemRows(watches),
      watches.length === 0 ? 'no watch yet' : 'none: all ' + watches.length + ' watches run and none differs from the hub',
    ), 'watches'),
  ];
  return { nodes: nodes, subject: 'hub ' + health.hub.state, refreshMs: watches.length > LARGE_WATCHES ? LARGE_REFRESH_MS : REFRESH_MS };
}

startPolling({
  load: function () {
    return Promise.all([getJson('health', [503]), getJson('accounts'), getJson('watches')]).then(function (r) {
      return { health: r[0], accounts: r[1], watches: r[2] };
    });
  },
  render: render,
});
`;

const SCRIPT = statusPageScript(AGENT_PAGE_SCRIPT);

/** Where the page's parts are served on the admin port (its JSON is the port's own /health, /accounts and /watches). */
export const AGENT_STATUS_PATHS = STATUS_PAGE_PATHS;

/** GET / on the agent's admin port: a one-page view of its own feeds, from the JSON the port already serves. */
export function agentStatusPageRoutes(app: FastifyInstance): void {
  statusPageRoutes(app, { title: 'Scale Agent · agent', script: SCRIPT });
}

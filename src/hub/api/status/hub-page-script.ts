/**
 * The hub's status page in the browser: polls GET status/data (status-data.ts) and draws the accounts,
 * this replica's agents, the database and replicas, and the latest operations with their hops. Runs
 * on the shared runtime (src/common/status-page/page-runtime.ts), which builds the DOM from text only.
 */
export const HUB_PAGE_SCRIPT = String.raw`
var DATA_PATH = 'status/data';

function feedLabel(f) {
  return f.kind + (f.namespace ? '@' + f.namespace : '');
}

function feedTitle(f) {
  var lines = [(f.group ? f.group + '/' : '') + f.kind + (f.namespace ? ' in ' + f.namespace : ' (all namespaces)')];
  lines.push('last committed change ' + ago(f.changedAgoSeconds) + ' ago');
  lines.push(f.checkedAgoSeconds === null ? 'digest not compared yet' : 'digest compared ' + ago(f.checkedAgoSeconds) + ' ago: ' + f.state);
  if (f.divergedSince) lines.push('differs since ' + f.divergedSince);
  if (f.divergences > 0) lines.push(f.divergences + ' divergence(s) found so far');
  return lines.join('\n');
}

function feedChips(feeds) {
  if (feeds.length === 0) return el('span', 'muted', 'no feeds');
  return el('div', 'chips', feeds.map(function (f) {
    return el('span', 'chip ' + stateClass(f.state), [el('b', null, feedLabel(f)), ' ' + ago(f.changedAgoSeconds)], feedTitle(f));
  }));
}

function accountRows(data) {
  return data.accounts.map(function (a) {
    var standbys = a.agentsHere.filter(function (h) { return !h.caching; }).length;
    var reasons = [];
    if (a.reason) reasons.push(el('div', null, a.reason));
    a.refusals.forEach(function (r) {
      if (a.state !== 'refused') reasons.push(el('div', null, 'refused for ' + r.agentId + ' (' + r.code + '): ' + r.message));
    });
    return {
      key: a.name,
      className: 'row-' + stateClass(a.state).slice(2),
      cells: [
        { value: [el('b', null, a.name), a.kubernetesVersion ? el('div', 'muted', a.kubernetesVersion) : null], className: 'name' },
        pill(a.state),
        { value: [a.agentId || '–', standbys > 0 ? el('div', 'muted', '+' + standbys + ' standby') : null], className: 'nowrap' },
        { value: a.hubId ? [a.hubId, a.hubId === data.hubId ? el('span', 'muted', ' (this)') : null] : '–', className: 'nowrap' },
        { value: ago(a.heartbeatAgoSeconds), className: 'num' },
        [pill(a.cache.status), a.cache.divergences > 0 ? el('div', 'muted', a.cache.divergences + ' found') : null],
        feedChips(a.feeds),
        { value: reasons, className: 'reason' },
      ],
    };
  });
}

function sessionAccounts(s) {
  var chips = [];
  s.accounts.forEach(function (name) {
    var caching = s.caching.indexOf(name) >= 0;
    chips.push(el('span', 'chip ' + (caching ? 's-caching' : 's-standby'), name, caching ? 'caching' : 'standby: runs operations, takes over caching if the holder goes'));
  });
  s.unreachable.forEach(function (u) { chips.push(el('span', 'chip s-unreachable', u.account, 'unreachable: ' + u.reason)); });
  s.refused.forEach(function (r) { chips.push(el('span', 'chip s-refused', r.account, 'refused (' + r.code + '): ' + r.message)); });
  return chips.length === 0 ? el('span', 'muted', 'none') : el('div', 'chips', chips);
}

function sessionRows(data) {
  return data.sessions.map(function (s) {
    return {
      key: s.sessionId,
      cells: [
        [el('b', null, s.agentId), s.zoneId ? el('div', 'muted', 'zone ' + s.zoneId) : null, s.peer ? el('div', 'muted mono', s.peer) : null],
        [s.agentVersion || '–', el('div', 'muted', 'protocol ' + s.protocolVersion)],
        { value: clock(s.connectedAt), className: 'nowrap' },
        { value: ago(s.lastMessageAgoSeconds), className: 'num' },
        sessionAccounts(s),
        { value: s.pendingOperations, className: 'num' },
      ],
    };
  });
}

/** The database first, then each replica sharing it (as GET /health lists them). */
function replicaRows(data) {
  var db = data.database;
  var rows = [{
    key: 'database',
    cells: [el('b', null, 'database'), pill(db.status.toLowerCase(), db.status), '–', '–', { value: db.error || '', className: 'reason' }],
  }];
  return rows.concat(data.replicas.map(function (r) {
    return {
      key: r.hubId,
      cells: [
        { value: [el('b', null, 'replica ' + r.hubId), r.self ? el('span', 'muted', ' (this)') : null], className: 'nowrap' },
        pill(r.live ? 'live' : 'dead'),
        { value: ago(r.heartbeatAgoSeconds), className: 'num' },
        { value: clock(r.startedAt), className: 'nowrap' },
        el('span', 'mono', r.restUrl || ''),
      ],
    };
  }));
}

function operationRows(data) {
  return data.operations.map(function (o) {
    var error = o.errorCode ? o.errorCode + (o.message ? ': ' + o.message : '') : o.status === 'FAILED' && o.message ? o.message : '';
    return {
      key: o.id,
      cells: [
        { value: ago(o.agoSeconds) + ' ago', className: 'nowrap', title: o.receivedAt + (o.taskId ? '\ntask ' + o.taskId : '') + '\noperation ' + o.id },
        o.account,
        o.type,
        pill(o.status.toLowerCase(), o.status),
        { value: o.httpStatus === null ? '–' : o.httpStatus, className: 'num' },
        duration(o.hops.routeMs),
        duration(o.hops.sendMs),
        duration(o.hops.agentMs),
        duration(o.hops.returnMs),
        el('b', null, duration(o.hops.totalMs)),
        o.agentId || '–',
        { value: error, className: 'reason' },
      ],
    };
  });
}

function render(data) {
  var s = data.summary;
  var connected = s.byState.connected;
  var nodes = [
    cards([
      { label: 'accounts connected', value: connected + ' / ' + s.accounts, state: connected === s.accounts ? 'ok' : 'warn' },
      { label: 'unreachable', value: s.byState.unreachable, state: s.byState.unreachable > 0 ? 'warn' : 'ok' },
      { label: 'disconnected', value: s.byState.disconnected, state: s.byState.disconnected > 0 ? 'warn' : 'ok' },
      { label: 'refused', value: s.byState.refused, state: s.byState.refused > 0 ? 'bad' : 'ok' },
      { label: 'diverged feeds', value: s.divergedFeeds + ' / ' + s.feeds, state: s.divergedFeeds > 0 ? 'bad' : 'ok' },
      { label: 'agents here', value: s.sessions, state: 'ok' },
      { label: 'replicas live', value: s.liveReplicas + ' / ' + s.replicas, state: s.liveReplicas === s.replicas ? 'ok' : 'warn' },
      { label: 'database', value: data.database.status, state: data.database.status === 'UP' ? 'up' : 'down', title: data.database.error || '' },
    ]),
    section('Accounts', s.accounts, table(
      ['Account', 'State', 'Agent', 'Replica', { label: 'Heartbeat', num: true }, 'Cache', 'Kinds · since last change', 'Reason'],
      accountRows(data),
      data.viewer.authEnabled ? 'no account you may read' : 'no account registered yet',
    ), 'accounts'),
    el('div', 'grid2', [
      section('Agents connected to this replica', data.sessions.length, table(
        ['Agent', 'Version', 'Connected', { label: 'Last message', num: true }, 'Accounts', { label: 'Pending ops', num: true }],
        sessionRows(data),
        'no agent session at this replica',
      ), 'sessions'),
      section('Database and replicas', data.summary.liveReplicas + ' / ' + data.summary.replicas + ' live', table(
        ['', 'State', { label: 'Heartbeat', num: true }, 'Started', 'REST / error'],
        replicaRows(data),
        'no replica listing',
      ), 'replicas'),
    ]),
    section('Recent operations', data.operations.length, table(
      ['When', 'Account', 'Type', 'Status', { label: 'HTTP', num: true }, 'Routed', 'Sent', 'Agent', 'Reported', 'Total', 'Agent id', 'Error'],
      operationRows(data),
      'no operation yet',
    ), 'operations'),
  ];
  var viewer = !data.viewer.authEnabled ? 'anonymous' : 'user ' + (data.viewer.user || '?') + (data.viewer.admin ? ' (admin)' : '') + ' · accounts you may read';
  return { nodes: nodes, subject: 'replica ' + data.hubId, refreshMs: data.refreshMs, viewer: viewer };
}

startPolling({
  load: function () { return getJson(DATA_PATH); },
  render: render,
});
`;

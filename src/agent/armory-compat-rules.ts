import { CLOUDDRIVER_ONLY_ACCOUNT_FIELDS } from '../common/account-config.ts';
import { isPlainObject } from '../common/config.ts';
import { DEFAULT_LIST_BUDGET_PER_ACCOUNT, DEFAULT_LIST_BUDGET_TOTAL, DEFAULT_PING_SECONDS, DEFAULT_REQUEST_TIMEOUT_SECONDS } from './config.ts';
import { goDurationMs } from './go-duration.ts';

/*
 * What becomes of each key of the Armory agent's configuration (armory-agent.yaml) that this agent does
 * not take as is. Keys not listed here are this agent's own (most have Armory's names and meanings) and
 * are validated by the schema in config.ts. docs/configuration.md ("Migrating from the Armory agent")
 * is the table of all of them, for people.
 */

/** What a rule does with the value it found. */
export type Conversion =
  /** Leave the key as it is (the value is fine as it is). */
  | { keep: true }
  /** Remove the key; set these paths (from the root) instead; warn when `warning` is given. */
  | { set: Array<{ path: string[]; value: unknown }>; warning?: string }
  /** Remove the key with a warning: it has no effect here. */
  | { ignore: string }
  /** The value cannot be taken: a configuration problem. */
  | { problem: string };

export interface CompatRule {
  /** Where the key is: from the root, or within each entry of kubernetes.accounts. */
  scope: 'root' | 'account';
  path: string[];
  /** `root`: the whole configuration, for a rule whose outcome depends on another key. */
  convert: (value: unknown, root: Readonly<Record<string, unknown>>) => Conversion;
}

function getIn(root: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((current, key) => (isPlainObject(current) ? current[key] : undefined), root);
}

const ignore = (reason: string) => (): Conversion => ({ ignore: reason });

/** The same meaning under another name (in the same scope, or at a path from the root). */
const renameTo =
  (path: string[]) =>
  (value: unknown): Conversion => ({ set: [{ path, value }] });

function positiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** A Go duration (ns, or "1s") to milliseconds at `path`. */
const durationTo =
  (path: string[]) =>
  (value: unknown): Conversion => {
    const ms = goDurationMs(value);
    if (ms === undefined || ms < 1) return { problem: `expected a positive Go duration (nanoseconds, or e.g. "1s", "500ms"), got ${JSON.stringify(value)}` };
    return { set: [{ path, value: ms }] };
  };

/** Armory's 0 = "no limit" for a budget this agent always bounds. */
const budget =
  (defaultValue: number) =>
  (value: unknown): Conversion =>
    value === 0
      ? {
          ignore: `0 (no limit) is not offered: every initial list of every account at once is what the budget exists to prevent; the default ${defaultValue} applies`,
        }
      : { keep: true };

export const NO_PROXY_REASON =
  'the agent connects to API servers directly and never uses the HTTP_PROXY, HTTPS_PROXY or NO_PROXY environment variables for them, so there is nothing to turn off';

const ACCOUNT_RULES: CompatRule[] = [
  { scope: 'account', path: ['kubeConfigFile'], convert: renameTo(['kubeconfigFile']) },
  {
    scope: 'account',
    path: ['serviceAccountName'],
    convert: ignore("the agent's service account is the pod's (the Deployment's spec.serviceAccountName); serviceAccount: true uses it"),
  },
  {
    scope: 'account',
    path: ['customResourceDefinitions'],
    convert: ignore(
      'kinds are discovered from the API server, custom resources included, and followed as definitions come and go; select them with kinds/omitKinds',
    ),
  },
  {
    scope: 'account',
    path: ['maxResumableResourceAgeMs'],
    convert: ignore(
      "watches resume from the hub's last stored resourceVersion whatever its age; when the API server no longer knows it (410 Gone) the agent lists again",
    ),
  },
  { scope: 'account', path: ['noProxy'], convert: ignore(NO_PROXY_REASON) },
  ...Object.entries(CLOUDDRIVER_ONLY_ACCOUNT_FIELDS).map(([field, reason]): CompatRule => ({
    scope: 'account',
    path: [field],
    convert: ignore(`a Clouddriver account field; ${reason}`),
  })),
];

const ROOT_RULES: CompatRule[] = [
  { scope: 'root', path: ['kubernetes', 'noProxy'], convert: ignore(NO_PROXY_REASON) },
  {
    scope: 'root',
    path: ['kubernetes', 'reconnectTimeoutMs'],
    convert: (value, root) => {
      if (!positiveInteger(value)) return { problem: `expected a positive integer (ms), got ${JSON.stringify(value)}` };
      // Armory's newer clouddriver.backoff (1.0.54) governs reconnects; a file may carry both.
      const backoff = getIn(root, ['clouddriver', 'backoff']);
      if (isPlainObject(backoff) && (backoff.baseDelay !== undefined || backoff.initialMs !== undefined))
        return { ignore: 'clouddriver.backoff.baseDelay (or initialMs) is set too and decides the first reconnect delay' };
      return { set: [{ path: ['clouddriver', 'backoff', 'initialMs'], value }] };
    },
  },
  {
    scope: 'root',
    path: ['kubernetes', 'retries'],
    convert: ignore(
      "list and watch retry forever with backoff (kubernetes.reflector.backoff); an operation's write that meets 409 Conflict is retried up to 3 times, any other failure is answered with the API server's status for the pipeline to retry",
    ),
  },
  {
    scope: 'root',
    path: ['kubernetes', 'serverSideApply'],
    convert: ignore(
      "each deploy's apply strategy comes from Spinnaker (the stage's server-side apply option, annotation strategy.spinnaker.io/server-side-apply); otherwise the agent applies client-side, as kubectl apply does, ConfigMaps and Secrets included",
    ),
  },
  {
    scope: 'root',
    path: ['kubernetes', 'dynamicAccountsOnly'],
    convert: ignore(
      'an undocumented Armory key; the agent serves the accounts of kubernetes.accounts plus, with dynamicAccountsEnabled, those the hub sends: leave kubernetes.accounts empty, with kubernetes.inClusterAccount.mode: never, to serve dynamic accounts only',
    ),
  },
  {
    scope: 'root',
    path: ['clouddriver', 'keepAliveHeartbeatSeconds'],
    convert: (value) =>
      value === 0
        ? { ignore: `pings cannot be turned off (0): they are how the agent notices a hub that is gone; the default ${DEFAULT_PING_SECONDS} s applies` }
        : { keep: true },
  },
  {
    scope: 'root',
    path: ['clouddriver', 'keepAliveOperationSeconds'],
    convert: ignore(
      'the session is checked by pings (keepAliveHeartbeatSeconds, keepAliveTimeOutSeconds) and the cache by digests (digestIntervalSeconds); restarting a session for want of operations would only cost a resynchronisation',
    ),
  },
  {
    scope: 'root',
    path: ['clouddriver', 'responseRetries'],
    convert: ignore(
      "an operation's result goes back on the session the operation came on; when that session ends, the hub fails the operation at once instead of letting it time out, and Spinnaker retries it: there is no result to send again",
    ),
  },
  { scope: 'root', path: ['clouddriver', 'backoff', 'baseDelay'], convert: durationTo(['clouddriver', 'backoff', 'initialMs']) },
  { scope: 'root', path: ['clouddriver', 'backoff', 'maxDelay'], convert: durationTo(['clouddriver', 'backoff', 'maxMs']) },
  {
    scope: 'root',
    path: ['clouddriver', 'cacheRetryIntervalSeconds'],
    convert: ignore(
      "an undocumented Armory key; cache changes the hub has not acknowledged are sent again when their sync stream reopens, and every feed is compared with the hub's copy every clouddriver.digestIntervalSeconds",
    ),
  },
  { scope: 'root', path: ['clouddriver', 'dynamicAccountsEnabled'], convert: renameTo(['dynamicAccountsEnabled']) },
  {
    scope: 'root',
    path: ['tasks', 'queueCheckFrequencyMs'],
    convert: ignore('the list budget hands a freed slot to the next waiting list at once; no queue is polled'),
  },
  { scope: 'root', path: ['tasks', 'totalBudget'], convert: budget(DEFAULT_LIST_BUDGET_TOTAL) },
  { scope: 'root', path: ['tasks', 'budgetPerAccount'], convert: budget(DEFAULT_LIST_BUDGET_PER_ACCOUNT) },
  {
    scope: 'root',
    path: ['timeoutSeconds'],
    convert: (value) =>
      value === 0
        ? {
            ignore: `no timeout (0) is not offered: a request the API server never answers would hold its reflector or operation forever; kubernetes.requestTimeoutSeconds (default ${DEFAULT_REQUEST_TIMEOUT_SECONDS}) applies`,
          }
        : positiveInteger(value)
          ? { set: [{ path: ['kubernetes', 'requestTimeoutSeconds'], value }] }
          : { problem: `expected a whole number of seconds, got ${JSON.stringify(value)}` },
  },
  {
    scope: 'root',
    path: ['pprof'],
    convert: ignore("Go's pprof has no counterpart in Node; profile with node --cpu-prof, --heap-prof or --heapsnapshot-signal"),
  },
  ...['maxSizeMb', 'maxAgeDays', 'maxBackups', 'localTime', 'compress'].map((key): CompatRule => ({
    scope: 'root',
    path: ['logging', key],
    convert: ignore(
      "the agent does not rotate logging.file; rotate it with logrotate's copytruncate, or log to stdout and let the container runtime keep the logs",
    ),
  })),
  {
    scope: 'root',
    path: ['logging', 'remote'],
    convert: ignore("Armory's log shipping to its hosted service; ship stdout or logging.file with your own log collector"),
  },
  { scope: 'root', path: ['server', 'ssl', 'keyPassword'], convert: renameTo(['server', 'ssl', 'keyFilePassword']) },
  { scope: 'root', path: ['server', 'ssl', 'caCertFile'], convert: renameTo(['server', 'ssl', 'cacertFile']) },
  {
    scope: 'root',
    path: ['balanceConnection'],
    convert: ignore('an undocumented Armory key; the hub decides which agent caches each account (one per account, the others stand by)'),
  },
  ...['clouddriverNamespace', 'domainName'].map((key): CompatRule => ({
    scope: 'root',
    path: [key],
    convert: ignore("undocumented Armory keys for finding Clouddriver's pods inside Kubernetes; the agent dials clouddriver.grpc"),
  })),
  { scope: 'root', path: ['local'], convert: ignore('an undocumented Armory key (a local development mode) with no counterpart here') },
  {
    scope: 'root',
    path: ['hub'],
    convert: ignore(
      "Armory's hosted hub (agents.cloud.armory.io), which Armory removed; this agent reaches its hub with clouddriver.grpc, clouddriver.tls and clouddriver.auth",
    ),
  },
];

export const COMPAT_RULES: readonly CompatRule[] = [...ROOT_RULES, ...ACCOUNT_RULES];

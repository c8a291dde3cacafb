import { Counter, Gauge, type Registry } from 'prom-client';
import { FilePoller } from '../common/file-watch.ts';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { AgentConfig } from './config.ts';

/**
 * How often the configuration files are compared with what was loaded. Kubernetes updates a mounted
 * ConfigMap by swapping its `..data` symlink, which file-system events on the old target miss, so the
 * files are read (a few kilobytes) rather than watched; once a second keeps a change within the 5 s
 * Armory operators expect ("within seconds after etcd sync").
 */
export const CONFIG_POLL_INTERVAL_MS = 1000;

/** What the last reload attempts came to (shown at /health and /accounts). */
export interface ReloadStatus {
  /** When the running configuration was loaded (at start, or by the last successful reload). */
  loadedAt: number;
  reloads: number;
  failures: number;
  /** The last reload's failure, while the running configuration is older than the files. */
  lastError?: { message: string; at: number };
}

export interface ConfigReloaderOptions {
  /** The files the configuration is read from (empty: nothing to watch). */
  paths: readonly string[];
  /** Reads and validates the files; throws (CONFIG_INVALID, CONFIG_FILE_UNREADABLE) with every problem. */
  load: () => AgentConfig;
  /** Applies a valid new configuration. */
  apply: (config: AgentConfig) => void;
  /** The configuration the agent started with. */
  current: AgentConfig;
  logger: Logger;
  metricsRegistry: Registry;
  intervalMs?: number;
  clock?: () => number;
}

/** The settings outside kubernetes.accounts, which only a restart applies. */
function restartOnlyPaths(before: AgentConfig, after: AgentConfig): string[] {
  const changed: string[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof AgentConfig>;
  for (const key of keys) {
    if (key === 'kubernetes') {
      const { accounts: _a, ...restBefore } = before.kubernetes;
      const { accounts: _b, ...restAfter } = after.kubernetes;
      if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) changed.push('kubernetes (other than accounts)');
      continue;
    }
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed.push(String(key));
  }
  return changed;
}

/**
 * Reloads the agent's configuration when its files change or on SIGHUP: the accounts follow at once
 * (the roster starts, stops and restarts only what changed). A file that does not load keeps the running
 * configuration; the error is logged, counted and shown at /health until a good file replaces it.
 */
export class ConfigReloader {
  readonly status: ReloadStatus;
  private readonly poller: FilePoller;
  private readonly outcomes: Counter<'outcome'>;
  private readonly onSighup = () => {
    this.options.logger.info('SIGHUP: reloading the configuration');
    this.reload('signal');
  };

  constructor(private readonly options: ConfigReloaderOptions) {
    this.status = { loadedAt: this.clock(), reloads: 0, failures: 0 };
    this.poller = new FilePoller(options.paths, options.intervalMs ?? CONFIG_POLL_INTERVAL_MS, () => this.reload('file'));
    this.outcomes = new Counter({
      name: 'scale_agent_config_reloads_total',
      help: 'Configuration reloads (a file changed, or SIGHUP) by outcome: applied, or failed (the running configuration is kept)',
      labelNames: ['outcome'],
      registers: [options.metricsRegistry],
    });
    const status = this.status;
    new Gauge({
      name: 'scale_agent_config_reload_failing',
      help: '1 while the configuration files do not load (the agent runs on the last good configuration), else 0',
      registers: [options.metricsRegistry],
      collect() {
        this.set(status.lastError === undefined ? 0 : 1);
      },
    });
  }

  private clock(): number {
    return (this.options.clock ?? Date.now)();
  }

  start(): this {
    this.poller.start();
    process.on('SIGHUP', this.onSighup);
    return this;
  }

  stop(): void {
    this.poller.stop();
    process.off('SIGHUP', this.onSighup);
  }

  /** Loads the files and applies them; false when they do not load (the running configuration stays). */
  reload(trigger: 'file' | 'signal'): boolean {
    const { logger } = this.options;
    let next: AgentConfig;
    try {
      next = this.options.load();
    } catch (err) {
      this.status.failures++;
      this.status.lastError = { message: errorMessage(err), at: this.clock() };
      this.outcomes.inc({ outcome: 'failed' });
      logger.error({ trigger, err: errorMessage(err) }, 'the changed configuration does not load; the running configuration is kept');
      return false;
    }
    // Against the configuration the agent started with: only accounts change without a restart.
    const restartOnly = restartOnlyPaths(this.options.current, next);
    if (restartOnly.length > 0) {
      logger.warn({ changed: restartOnly }, 'configuration changed outside kubernetes.accounts: these settings take effect at the next restart');
    }
    this.options.apply(next);
    this.status.reloads++;
    this.status.loadedAt = this.clock();
    delete this.status.lastError;
    this.outcomes.inc({ outcome: 'applied' });
    return true;
  }
}

import { qualifiedKind } from '../common/kube-object.ts';
import { REFLECTOR_STATES } from '../kube/reflector.ts';
import type { AccountRuntime, WatchView } from './account/account-runtime.ts';
import { freshnessSeconds } from './admin/watch-health.ts';

/**
 * The per-feed series of /metrics (freshness, state, relists, restarts, errors), written straight into
 * Prometheus text at scrape time. An agent with a thousand accounts has seven thousand feeds and so
 * some seventy thousand series; building them through prom-client's labelled gauges (a hashed label set
 * per value, then formatted back) blocked the agent's event loop for about 300 ms on every scrape, which
 * showed up as a latency spike on every change streamed meanwhile (docs/performance.md, "scale"). Written
 * directly, in slices between which the event loop runs, they cost a few tens of milliseconds and
 * hold the loop for well under one.
 */
export class FeedMetrics {
  constructor(
    private readonly accounts: Map<string, AccountRuntime>,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The exposition text of every per-feed family, ending with a newline (empty families keep their HELP
   * and TYPE). It yields to the event loop every FEEDS_PER_SLICE feeds, so watch events keep flowing
   * while a large agent is scraped.
   */
  async text(): Promise<string> {
    const now = this.clock();
    const feeds: Array<{ labels: string; watch: WatchView }> = [];
    let sliced = 0;
    for (const account of [...this.accounts.values()]) {
      if (feeds.length - sliced >= FEEDS_PER_SLICE) {
        sliced = feeds.length;
        await yieldToEventLoop();
      }
      const accountLabel = `account="${escapeLabelValue(account.name)}"`;
      for (const watch of account.watches()) {
        const kind = qualifiedKind(watch.feed.group, watch.feed.kind);
        feeds.push({ labels: `${accountLabel},kind="${escapeLabelValue(kind)}",namespace="${escapeLabelValue(watch.feed.namespace)}"`, watch });
      }
    }
    const out: string[] = [];
    let written = 0;
    const slice = async () => {
      if (out.length - written < LINES_PER_SLICE) return;
      written = out.length;
      await yieldToEventLoop();
    };
    const family = (name: string, type: 'gauge' | 'counter', help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family('scale_agent_watch_freshness_seconds', 'gauge', 'Seconds since the last event, bookmark or completed list of a feed (absent before its first)');
    for (const f of feeds) {
      const freshness = freshnessSeconds(f.watch.reflector, now);
      if (freshness !== undefined) out.push(`scale_agent_watch_freshness_seconds{${f.labels}} ${freshness}`);
      await slice();
    }
    family('scale_agent_watch_state', 'gauge', "1 for a feed's current reflector state, 0 for the others");
    for (const f of feeds) {
      for (const state of REFLECTOR_STATES) out.push(`scale_agent_watch_state{${f.labels},state="${state}"} ${f.watch.reflector.state === state ? 1 : 0}`);
      await slice();
    }
    const cumulative = async (name: string, help: string, read: (w: WatchView) => number) => {
      family(name, 'counter', help);
      for (const f of feeds) {
        out.push(`${name}{${f.labels}} ${read(f.watch)}`);
        await slice();
      }
    };
    await cumulative('scale_agent_watch_relists_total', 'Completed lists of a feed (the initial one included)', (w) => w.reflector.relists);
    await cumulative('scale_agent_watch_restarts_total', 'Watches of a feed re-opened after one ended or failed', (w) => w.reflector.watchRestarts);
    await cumulative('scale_agent_watch_errors_total', 'Failed lists and watches of a feed', (w) => w.reflector.errors);
    out.push('');
    return out.join('\n');
  }
}

/** Feeds labelled, and lines written, between two yields to the event loop (each slice well under a millisecond). */
const FEEDS_PER_SLICE = 500;
const LINES_PER_SLICE = 2000;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Prometheus text format: a label value escapes backslash, double quote and line feed. */
function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

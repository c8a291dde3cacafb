import { qualifiedKind } from '../common/kube-object.ts';
import { REFLECTOR_STATES, type ReflectorState } from '../kube/reflector.ts';
import type { AccountRuntime, WatchView } from './account/account-runtime.ts';
import { freshnessSeconds } from './admin/watch-health.ts';

/**
 * The value of `scale_agent_watch_state` for each reflector state. One series per feed carries its state
 * as a number (a series per feed and state was 6 per feed: 132,000 series at 1,000 accounts of 22
 * kinds), so these numbers are an interface: never renumber one, add new states at the end.
 */
export const WATCH_STATE_CODES: Readonly<Record<ReflectorState, number>> = {
  queued: 0,
  listing: 1,
  watching: 2,
  backoff: 3,
  forbidden: 4,
  stopped: 5,
};

/** The mapping as the metric's HELP states it: `0=queued, 1=listing, …`. */
export const WATCH_STATE_LEGEND = REFLECTOR_STATES.map((state) => `${WATCH_STATE_CODES[state]}=${state}`).join(', ');

/**
 * The per-feed series of /metrics (freshness, state, relists, restarts, errors), written straight into
 * Prometheus text at scrape time. An agent with a thousand accounts has seven thousand feeds and so
 * some thirty-five thousand series (there were seventy thousand while the state took six); building
 * those seventy thousand through prom-client's labelled gauges (a hashed label set per value, then
 * formatted back) blocked the agent's event loop for about 300 ms on every scrape, which showed up as a
 * latency spike on every change streamed meanwhile (docs/performance.md, "scale"). Written directly, in
 * slices between which the event loop runs, they cost a few tens of milliseconds and hold the loop for
 * well under one.
 */
export class FeedMetrics {
  constructor(
    private readonly accounts: Map<string, AccountRuntime>,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The exposition text of every per-feed family and of the feeds counted per state, ending with a
   * newline (empty families keep their HELP and TYPE). It yields to the event loop every
   * FEEDS_PER_SLICE feeds, so watch events keep flowing while a large agent is scraped.
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
    family('scale_agent_watch_state', 'gauge', `The reflector state of a feed, as a number: ${WATCH_STATE_LEGEND}`);
    const byState = new Map<ReflectorState, number>(REFLECTOR_STATES.map((state) => [state, 0]));
    for (const f of feeds) {
      const state = f.watch.reflector.state;
      byState.set(state, (byState.get(state) ?? 0) + 1);
      out.push(`scale_agent_watch_state{${f.labels}} ${WATCH_STATE_CODES[state]}`);
      await slice();
    }
    // Every state, zeros included: a panel or alert on one state always has its series.
    family('scale_agent_watches_by_state', 'gauge', 'Feeds in each reflector state');
    for (const [state, count] of byState) out.push(`scale_agent_watches_by_state{state="${state}"} ${count}`);
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

/**
 * The status pages' stylesheet: compact tables, one colour per kind of state (good, in progress,
 * bad, gone), the system's own fonts (nothing is fetched from elsewhere).
 */
export const STATUS_PAGE_CSS = `
:root {
  --bg: #f5f6f8; --card: #fff; --line: #e2e5ea; --text: #1c2230; --muted: #687083; --head: #1c2230;
  --ok: #11703f; --ok-bg: #dff3e8; --warn: #8a5300; --warn-bg: #fff0cf; --bad: #b3261e; --bad-bg: #fce4e2;
  --off: #4a5160; --off-bg: #e9ebef; --info: #1d5bb8; --info-bg: #e2ebfa;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
header { display: flex; align-items: baseline; gap: 14px; padding: 10px 20px; background: var(--head); color: #fff; }
header h1 { margin: 0; font-size: 15px; font-weight: 600; }
header .subject { color: #c9cfdb; font-size: 12px; }
header .meta { margin-left: auto; color: #aeb6c6; font-size: 12px; }
.banner { margin: 10px 20px 0; padding: 8px 12px; border: 1px solid #f0b9b4; border-radius: 6px; background: var(--bad-bg); color: var(--bad); }
.banner[hidden] { display: none; }
main { padding: 12px 20px 28px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { min-width: 120px; padding: 7px 14px; border: 1px solid var(--line); border-left-width: 4px; border-radius: 6px; background: var(--card); }
.card .n { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .l { color: var(--muted); font-size: 11px; letter-spacing: .04em; text-transform: uppercase; }
.card.s-up, .card.s-ok { border-left-color: var(--ok); }
.card.s-warn { border-left-color: #d99a1e; }
.card.s-down, .card.s-bad { border-left-color: var(--bad); }
section { margin-top: 18px; }
h2 { margin: 0 0 6px; color: #394150; font-size: 12px; letter-spacing: .05em; text-transform: uppercase; }
h2 .count { color: var(--muted); font-weight: 400; letter-spacing: 0; text-transform: none; }
table { width: 100%; border: 1px solid var(--line); border-collapse: separate; border-spacing: 0; border-radius: 6px; background: var(--card); overflow: hidden; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f0f2f5; color: #4a5160; font-size: 11px; font-weight: 600; letter-spacing: .03em; text-transform: uppercase; white-space: nowrap; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: #fafbfc; }
tr.row-disconnected td, tr.row-refused td { background: #fbfbfc; color: #5b6272; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
.reason { min-width: 160px; max-width: 340px; color: var(--bad); overflow-wrap: anywhere; }
.name { min-width: 120px; max-width: 240px; overflow-wrap: anywhere; }
.empty { padding: 9px 12px; border: 1px dashed var(--line); border-radius: 6px; background: var(--card); color: var(--muted); }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--off-bg); color: var(--off); font-size: 11px; font-weight: 600; white-space: nowrap; }
.s-connected, .s-up, .s-live, .s-watching, .s-succeeded, .s-matching, .s-accepted, .s-ready, .s-caching { background: var(--ok-bg); color: var(--ok); }
.s-unreachable, .s-overdue, .s-backoff, .s-listing, .s-queued, .s-pending, .s-sent, .s-connecting, .s-standby, .s-reconnecting, .s-verifying, .s-initialising { background: var(--warn-bg); color: var(--warn); }
.s-refused, .s-down, .s-dead, .s-diverged, .s-failed, .s-forbidden, .s-stuck, .s-out-of-service { background: var(--bad-bg); color: var(--bad); }
.s-disconnected, .s-stopped, .s-unchecked, .s-other, .s-idle, .s-closed { background: var(--off-bg); color: var(--off); }
.s-file, .s-hub, .s-dynamic { background: var(--info-bg); color: var(--info); }
.chips { display: flex; flex-wrap: wrap; gap: 3px; }
.chip { padding: 0 6px; border: 1px solid var(--line); border-radius: 3px; background: #f3f4f7; font-size: 11px; white-space: nowrap; }
.chip b { font-weight: 600; }
.chip.s-diverged { border-color: #efb3ad; }
.chip.s-overdue { border-color: #ecd08f; }
.chip.s-matching, .chip.s-watching { background: #f3f4f7; color: var(--text); }
.chip.s-stale { background: var(--warn-bg); border-color: #ecd08f; color: var(--warn); }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
@media (max-width: 1100px) { .grid2 { grid-template-columns: minmax(0, 1fr); } }
`;

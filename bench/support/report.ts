import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/** A table: a header row and rows of cells, rendered as aligned text for stdout or as Markdown. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  /** Lines printed under the table (what the figures mean). */
  notes?: string[];
}

export function renderText(table: Table): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  const out = [table.title, line(table.header), widths.map((w) => '-'.repeat(w)).join('   '), ...table.rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

export function renderMarkdown(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const out = [
    `### ${table.title}`,
    '',
    `| ${table.header.map(escape).join(' | ')} |`,
    `|${table.header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** 1536 → "1.5 KiB"; three significant digits. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3).replace(/\.0+$|(\.\d*?)0+$/, '$1');
  return `${text} ${UNITS[unit]}`;
}

/** 12345.6 → "12,346". */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** 0.0432 → "0.043×". */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toPrecision(2)}×`;
}

export function formatSeconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a';
}

export interface Environment {
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string | undefined;
  totalMemoryBytes: number;
  scaleAgentVersion: string | undefined;
  clientNodeVersion: string | undefined;
  gitCommit: string | undefined;
  gitDirty: boolean | undefined;
}

/** What machine and software a result was measured on. */
export function environment(): Environment {
  const info = cpus();
  const pkg = (path: string) => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  let commit: string | undefined;
  let dirty: boolean | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
  } catch {
    // Not a git checkout.
  }
  return {
    node: process.version,
    platform: `${process.platform} ${release()}`,
    arch: process.arch,
    cpus: info.length,
    cpuModel: info[0]?.model,
    totalMemoryBytes: totalmem(),
    scaleAgentVersion: pkg(join(REPO_ROOT, 'package.json')),
    clientNodeVersion: pkg(join(REPO_ROOT, 'node_modules', '@kubernetes', 'client-node', 'package.json')),
    gitCommit: commit,
    gitDirty: dirty,
  };
}

/** Writes `<dir>/<name>.json` and `<dir>/<name>.md`; returns their paths. */
export function writeResults(dir: string, name: string, result: unknown, markdown: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(md, markdown.endsWith('\n') ? markdown : markdown + '\n');
  return { json, markdown: md };
}

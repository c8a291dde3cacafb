import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { redactDatabaseUrl } from '../../src/hub/store/open-store.ts';
import { mysqlServer, postgresServer } from '../../test/support/database-servers.ts';
import type { RunningHub } from './parts.ts';
import type { ProcessRegistry } from './processes.ts';

/**
 * The hub's database for a benchmark, on any engine it supports: SQLite in a file of the benchmark's
 * temporary directory, or a fresh database on the PostgreSQL or MySQL/MariaDB server the tests use
 * (127.0.0.1:5432 / :3306, or TEST_POSTGRES_URL / TEST_MYSQL_URL; see test/support/database-servers.ts),
 * dropped again by `cleanup`.
 */
export type DatabaseEngine = 'sqlite' | 'postgres' | 'mysql';
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ['sqlite', 'postgres', 'mysql'];

export interface BenchDatabase {
  engine: DatabaseEngine;
  /** The URL the hub is started with (credentials included). */
  url: string;
  /** The URL without credentials, for reports. */
  redacted: string;
  cleanup(): Promise<void>;
}

export async function openBenchDatabase(engine: DatabaseEngine, dir: string): Promise<BenchDatabase> {
  if (engine === 'sqlite') {
    const url = `sqlite:${join(dir, 'hub.db')}`;
    return { engine, url, redacted: redactDatabaseUrl(url), cleanup: async () => {} };
  }
  const server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
  const url = await server.create();
  return {
    engine,
    url,
    redacted: redactDatabaseUrl(url),
    cleanup: async () => {
      try {
        await server.drop(url);
      } finally {
        await server.close();
      }
    },
  };
}

/**
 * The hub configuration a benchmark needs beyond the command-line flags: plaintext gRPC on 127.0.0.1
 * admitting any agent, which the hub only does when its configuration says so explicitly.
 */
export function benchHubConfig(): Record<string, unknown> {
  return { grpc: { insecure: true, allowAnyIdentity: true } };
}

/**
 * Starts `scale-agent hub` on 127.0.0.1 (REST and gRPC on OS-chosen ports) with any database URL; the
 * same as parts.ts's startHub, which takes a SQLite file. `databasePath` of the result holds the URL.
 * `configDir` receives the hub's YAML (see benchHubConfig).
 */
export async function startHubWithDatabase(
  registry: ProcessRegistry,
  options: { databaseUrl: string; configDir: string; timeoutMs: number; name?: string },
): Promise<RunningHub> {
  const configPath = join(options.configDir, `${options.name ?? 'hub'}.yaml`);
  writeFileSync(configPath, toYaml(benchHubConfig()));
  const proc = registry.spawnCli(
    options.name ?? 'hub',
    ['hub', '--config', configPath, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--database', options.databaseUrl, '--log-format', 'json'],
    { env: { LOG_LEVEL: 'info' } },
  );
  const started = await proc.waitForJson((r) => r.msg === 'hub started', options.timeoutMs, 'the hub to start');
  return { process: proc, restPort: Number(started.rest), grpcPort: Number(started.grpc), databasePath: options.databaseUrl };
}

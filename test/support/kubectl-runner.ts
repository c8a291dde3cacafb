/**
 * Real kubectl against a sim cluster for tests: a private cache and HOME, so nothing touches the user's,
 * and the object paths a sim serves an object of a manifest at (from its discovery).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { splitApiVersion } from '../../src/common/kube-object.ts';
import { simRequest, type SimAccess } from './system.ts';

/** Upper bound on one kubectl command; they take well under a second against the sim. */
const COMMAND_TIMEOUT_MS = 30_000;
/** kubectl -v=9 logs every body; large enough for the biggest test manifests' logs. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export type Json = any;

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubectlRunner {
  constructor(
    private readonly kubectlPath: string,
    private readonly kubeconfig: string,
    /** For kubectl's cache and HOME. */
    private readonly dir: string,
  ) {}

  /** The flags every invocation gets: the kubeconfig and a private cache dir, so nothing touches $HOME. */
  private baseArgs(): string[] {
    return ['--kubeconfig', this.kubeconfig, '--cache-dir', join(this.dir, 'kubectl-cache')];
  }

  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, KUBERC: 'off' };
  }

  /** Starts kubectl without waiting for it (`get -w`); the caller reads its output and ends it. */
  spawn(...args: string[]): ChildProcessWithoutNullStreams {
    return spawn(this.kubectlPath, [...this.baseArgs(), ...args], { env: this.env() });
  }

  /** Runs kubectl to completion; never rejects on a non-zero exit (tests assert on the code). */
  run(...args: string[]): Promise<KubectlRun> {
    return new Promise((resolve, reject) => {
      execFile(
        this.kubectlPath,
        [...this.baseArgs(), ...args],
        { timeout: COMMAND_TIMEOUT_MS, env: this.env(), maxBuffer: MAX_OUTPUT_BYTES },
        (err, stdout, stderr) => {
          if (err !== null && typeof err.code !== 'number') return reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`));
          resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
        },
      );
    });
  }

  /** Runs kubectl and asserts it succeeded; returns stdout. */
  async ok(...args: string[]): Promise<string> {
    const run = await this.run(...args);
    assert.equal(run.code, 0, `kubectl ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run.stdout;
  }
}

/** The collection and object paths of a manifest's object on a sim cluster, from the cluster's discovery. */
export async function objectPaths(sim: SimAccess, object: Json): Promise<{ collection: string; item: string }> {
  const { group, version } = splitApiVersion(object.apiVersion);
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const discovery = await simRequest(sim, 'GET', base);
  const resource = (discovery.body.resources as Json[]).find((r) => r.kind === object.kind && !r.name.includes('/'));
  assert.ok(resource, `the sim serves no ${object.kind} in ${object.apiVersion}`);
  const collection = resource.namespaced ? `${base}/namespaces/${object.metadata.namespace}/${resource.name}` : `${base}/${resource.name}`;
  return { collection, item: `${collection}/${object.metadata.name}` };
}

/** The manifest's object as the sim serves it now, or undefined when there is none (404). */
export async function liveObject(sim: SimAccess, object: Json): Promise<Json | undefined> {
  const response = await simRequest(sim, 'GET', (await objectPaths(sim, object)).item);
  if (response.status === 404) return undefined;
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** Types of scripts/dockerfile-steps.mjs, for the TypeScript tests that import it. */
export declare class DockerfileError extends Error {
  readonly line: number | undefined;
}

/** The image configuration of the stage that was built, as the Dockerfile leaves it. */
export interface ImageConfig {
  stage: string;
  /** The FROM image the stage starts from (its files are not in `root`). */
  base: string;
  /** The directory standing in for the stage's root filesystem. */
  root: string;
  workdir: string;
  user: string | undefined;
  /** The stage's own ENV (not the base image's). */
  env: Record<string, string>;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  exposedPorts: string[];
  volumes: string[];
  /** Whether COPY --chown owners were applied (only a root runner can). */
  ownersApplied: boolean;
}

export interface DockerfileRun {
  stages: Record<string, { root: string; image: string }>;
  image: ImageConfig;
}

export declare function runDockerfile(options: {
  file?: string;
  context?: string;
  out: string;
  target?: string;
  buildArgs?: Record<string, string>;
  /** Added to every RUN step's environment without appearing in the Dockerfile. */
  runEnv?: Record<string, string>;
  /** Stream RUN output to stderr. */
  echo?: boolean;
  log?: (line: string) => void;
}): Promise<DockerfileRun>;

/** Where the absolute image path `path` lies under a stage's root directory. */
export declare function mapPath(root: string, path: string): string;

export declare function parseDockerfile(text: string): Array<{ line: number; keyword: string; args: string }>;
export declare function parseDockerignore(text: string): Array<{ exclusion: boolean; regexp: RegExp }>;
export declare function isIgnored(patterns: Array<{ exclusion: boolean; regexp: RegExp }>, path: string): boolean;
export declare function substitute(text: string, vars: Map<string, string | undefined>, line?: number): string;

import { Errors, ScaleAgentError } from '../../common/errors.ts';

/**
 * Spinnaker's Artifact (kork's `com.netflix.spinnaker.kork.artifacts.model.Artifact`) as far as fetching
 * reads it. Orca sends the whole bound artifact (uuid, customKind, provenance, metadata, …): the other
 * fields are accepted and ignored, as Clouddriver's Jackson binding ignores what a fetch does not use.
 */
export interface Artifact {
  type: string;
  artifactAccount: string;
  reference?: string;
  name?: string;
  version?: string;
  location?: string;
  /** Kept when an object: git/repo reads its `subPath` (when `location` is empty), as Clouddriver does. */
  metadata?: Record<string, unknown>;
}

/** One artifact account: Clouddriver's ArtifactCredentials. */
export interface ArtifactCredentials {
  readonly name: string;
  /** Clouddriver's credentials type (`artifacts-github`, …), serialised as `type` by GET /artifacts/credentials. */
  readonly credentialsType: string;
  /** The artifact types it fetches (`github/file`, …). */
  readonly types: readonly string[];
  handles(type: string): boolean;
  /** The artifact's bytes. */
  download(artifact: Artifact): Promise<Buffer>;
  /** The artifact names it offers (Helm: chart names); absent where Clouddriver answers "not supported". */
  names?(): Promise<string[]>;
  /** The versions of one artifact (Helm: a chart's versions). */
  versions?(artifactName: string): Promise<string[]>;
}

export function requestInvalid(field: string, message: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_REQUEST_INVALID, `${field}: ${message}`, { field });
}

const OPTIONAL_STRING_FIELDS = ['reference', 'name', 'version', 'location'] as const;

/** The body of PUT /artifacts/fetch/: an object with a type and an account (Clouddriver answers 400 without one). */
export function parseArtifact(body: unknown): Artifact {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw requestInvalid('body', 'must be an artifact (a JSON object)');
  const raw = body as Record<string, unknown>;
  const text = (field: string, required: boolean): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (required) throw requestInvalid(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') throw requestInvalid(field, `must be a string, not ${Array.isArray(value) ? 'an array' : typeof value}`);
    if (required && value.trim() === '') throw requestInvalid(field, 'is required');
    return value;
  };
  const artifact: Artifact = { type: text('type', true)!, artifactAccount: text('artifactAccount', true)! };
  for (const field of OPTIONAL_STRING_FIELDS) {
    const value = text(field, false);
    if (value !== undefined) artifact[field] = value;
  }
  const metadata = raw.metadata;
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) artifact.metadata = metadata as Record<string, unknown>;
  return artifact;
}

/** The artifact's reference, which the type needs. */
export function requiredReference(artifact: Artifact): string {
  if (artifact.reference === undefined || artifact.reference === '') throw requestInvalid('reference', `is required for ${artifact.type} artifacts`);
  return artifact.reference;
}

import { readFileSync } from 'node:fs';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';

/**
 * The secrets of artifact accounts: given inline, by environment variable (read at start) or by file
 * (read at start, so a missing file stops the hub naming the key, and again at every fetch, so a
 * rotated Secret takes effect without a restart — Clouddriver's CredentialReader reads the file every
 * time too). A file that becomes unreadable keeps its last value: one failed read does not turn into
 * anonymous requests.
 */
export interface SecretSource {
  value(): string;
}

function configError(key: string, message: string): ScaleAgentError {
  return new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration: ${key}: ${message}`, { key });
}

function fixed(value: string): SecretSource {
  return { value: () => value };
}

function fromFile(file: string, key: string): SecretSource {
  // Clouddriver drops line breaks from these files; surrounding whitespace never belongs to a token.
  const read = () => readFileSync(file, 'utf8').replace(/\r?\n/g, '').trim();
  let last: string;
  try {
    last = read();
  } catch (err) {
    throw configError(key, `cannot read ${file}: ${errorMessage(err)}`);
  }
  if (last === '') throw configError(key, `${file} is empty`);
  return {
    value() {
      try {
        const text = read();
        if (text !== '') last = text;
      } catch {
        // Unreadable for now (a Secret mount being swapped): keep the last value.
      }
      return last;
    },
  };
}

function fromEnv(name: string, key: string, env: NodeJS.ProcessEnv): SecretSource {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw configError(key, `environment variable ${name} is not set or empty`);
  return fixed(value);
}

/** The secret one of `value`/`file`/`env` gives (the schema allows at most one), or undefined. */
export function secretSource(
  given: { value?: string | undefined; file?: string | undefined; env?: string | undefined },
  keys: { file: string; env: string },
  env: NodeJS.ProcessEnv,
): SecretSource | undefined {
  if (given.value !== undefined) return fixed(given.value);
  if (given.file !== undefined) return fromFile(given.file, keys.file);
  if (given.env !== undefined) return fromEnv(given.env, keys.env, env);
  return undefined;
}

export interface TokenKeys {
  token?: string | undefined;
  tokenFile?: string | undefined;
  tokenEnv?: string | undefined;
}

export interface BasicKeys {
  username?: string | undefined;
  password?: string | undefined;
  passwordFile?: string | undefined;
  passwordEnv?: string | undefined;
  usernamePasswordFile?: string | undefined;
}

/** An account's token, `where` being its place in the configuration (`artifacts.github.accounts[0]`). */
export function tokenSource(account: TokenKeys, where: string, env: NodeJS.ProcessEnv): SecretSource | undefined {
  return secretSource({ value: account.token, file: account.tokenFile, env: account.tokenEnv }, { file: `${where}.tokenFile`, env: `${where}.tokenEnv` }, env);
}

/** An account's `Authorization: Basic …` value, when it has a username and password (or Clouddriver's usernamePasswordFile). */
export function basicAuthSource(account: BasicKeys, where: string, env: NodeJS.ProcessEnv): SecretSource | undefined {
  const pair = account.usernamePasswordFile !== undefined ? fromFile(account.usernamePasswordFile, `${where}.usernamePasswordFile`) : undefined;
  const password = secretSource(
    { value: account.password, file: account.passwordFile, env: account.passwordEnv },
    { file: `${where}.passwordFile`, env: `${where}.passwordEnv` },
    env,
  );
  const encode = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;
  if (pair !== undefined) return { value: () => encode(pair.value()) };
  if (account.username !== undefined && password !== undefined) {
    const username = account.username;
    return { value: () => encode(`${username}:${password.value()}`) };
  }
  return undefined;
}

import { YAMLParseError } from 'yaml';

/**
 * Where the YAML parser stopped, by code and position only (" (BAD_INDENT) at line 3, column 5"): its
 * own message quotes the offending lines, which may hold a token or a key (a configuration file, or a
 * file that is no kubeconfig at all named by a dynamic account), and such messages reach logs,
 * /health and the hub. Empty for an error that is not the parser's.
 */
export function yamlErrorPlace(err: unknown): string {
  if (!(err instanceof YAMLParseError)) return '';
  const at = err.linePos === undefined ? '' : ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}`;
  return ` (${err.code})${at}`;
}

import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';

export class PolicyFileError extends Error {}

/**
 * Read an operator policy file the way oslo.policy does (`parse_file_contents`): JSON when it is
 * JSON, otherwise YAML as PyYAML's `safe_load` reads it, and an empty document is no rules.
 * Returns rule name -> check string; the old list-of-lists rules become the same check string.
 */
export function readPolicyFile(
  path: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Record<string, string> {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new PolicyFileError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicyText(text, path);
}

export function parsePolicyText(text: string, where = 'policy file'): Record<string, string> {
  return policyRules(loadPolicyDocument(text, where), where);
}

/**
 * The document as oslo.policy sees it before reading rules. YAML 1.1 because PyYAML implements 1.1
 * (unquoted `yes` is a boolean there, `010` is octal, `<<` merges); duplicate keys keep the last
 * value, as PyYAML does. PyYAML quotes such strings when it writes them, so its files round-trip.
 */
export function loadPolicyDocument(text: string, where = 'policy file'): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    try {
      parsed = parseYaml(text, { version: '1.1', uniqueKeys: false, merge: true, prettyErrors: true });
    } catch (error) {
      if (error instanceof YAMLParseError)
        throw new PolicyFileError(`${where}: not JSON or YAML: ${error.message.split('\n')[0]}`);
      throw error;
    }
  }
  // Python's `parsed or {}`: an empty file, `null`, `{}` and `[]` all mean no rules.
  return isFalsy(parsed) ? {} : parsed;
}

function isFalsy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

/** name -> check string; refuses what oslo.policy would fail on (or silently never match). */
export function policyRules(document: unknown, where = 'policy file'): Record<string, string> {
  if (document === null || typeof document !== 'object' || Array.isArray(document) || document instanceof Map)
    throw new PolicyFileError(`${where}: expected a mapping of rule names to rules`);
  const rules: Record<string, string> = {};
  for (const [name, rule] of Object.entries(document)) rules[name] = checkStringOf(rule, `${where}: rule ${name}`);
  return rules;
}

/**
 * oslo.policy's parse_rule: a string is a check string; anything else goes to the list-of-lists
 * reader, where an empty value (null, []) allows, the outer list is "or", an inner list is "and",
 * a bare string in the outer list is a one-check inner list, and nothing left denies.
 */
function checkStringOf(rule: unknown, where: string): string {
  if (typeof rule === 'string') return rule;
  if (rule === null || rule === undefined || (Array.isArray(rule) && rule.length === 0)) return '';
  if (!Array.isArray(rule))
    throw new PolicyFileError(`${where} must be a string (a check string) or a list of lists, got ${typeof rule}`);
  const alternatives: string[] = [];
  for (const inner of rule) {
    const checks = typeof inner === 'string' ? [inner] : inner;
    if (checks === null || (Array.isArray(checks) && checks.length === 0)) continue;
    if (!Array.isArray(checks) || !checks.every((check) => typeof check === 'string'))
      throw new PolicyFileError(`${where}: each entry of a list rule must be a string or a list of strings`);
    alternatives.push(checks.map((check) => singleCheck(check, where)).join(' and '));
  }
  if (alternatives.length === 0) return '!';
  return alternatives.length === 1 ? alternatives[0] : alternatives.map((and) => `(${and})`).join(' or ');
}

/** oslo reads each list entry as one `kind:match` check; as text it must stay one check. */
function singleCheck(check: string, where: string): string {
  if (/\s|^\(|\)$/.test(check) || ['and', 'or', 'not'].includes(check.toLowerCase()))
    throw new PolicyFileError(
      `${where}: list rule entry '${check}' must be a single check (no spaces, not wrapped in parentheses)`,
    );
  return check;
}

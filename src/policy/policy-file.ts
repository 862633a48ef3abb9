import { readFileSync } from 'node:fs';

export class PolicyFileError extends Error {}

/**
 * Read an operator policy file: a JSON object of `"name": "check string"`, or the same as oslo's
 * policy.yaml lines (`"name": "rule"`, one a line, `#` comments). Anything else is refused at start.
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
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new PolicyFileError(`${where}: invalid JSON: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new PolicyFileError(`${where}: expected an object`);
    for (const [name, rule] of Object.entries(parsed)) {
      if (typeof rule !== 'string') throw new PolicyFileError(`${where}: rule ${name} must be a string`);
    }
    return parsed as Record<string, string>;
  }
  return parseLines(text, where);
}

/** `"name": "rule"`, keys and values quoted or bare; a bare key ends at the first `: ` (policy names hold colons). */
const LINE =
  /^(?:"([^"]*)"|'([^']*)'|([^\s"'#]\S*?))\s*:(?:\s+|(?=["']))(?:"([^"]*)"|'([^']*)'|([^\s"'#].*?))?\s*(?:#.*)?$/;

function parseLines(text: string, where: string): Record<string, string> {
  const rules: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === '---') return;
    const found = LINE.exec(line);
    if (!found)
      throw new PolicyFileError(`${where}:${index + 1}: expected "name": "rule", got ${JSON.stringify(line)}`);
    const name = found[1] ?? found[2] ?? found[3];
    rules[name] = found[4] ?? found[5] ?? found[6] ?? '';
  });
  return rules;
}

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';

/**
 * The tokens strategy's file: one JSON object per line (`#` lines and blank lines ignored), each an API token
 * with who it names and a salted scrypt hash of its secret. Appending a line adds a token; deleting it revokes.
 * A secret is `emp_<id>_<random>`: the id finds the line without trying every hash.
 */
export interface TokenEntry {
  id: string;
  name: string;
  user: string;
  project?: string;
  roles: string[];
  /** `scrypt$N$r$p$<salt base64url>$<hash base64url>` */
  hash: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 };
const SECRET = /^emp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export class TokenFileError extends Error {}

function derive(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, keyLength, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison of the secret's scrypt key with the stored one. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(secret, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** The id a secret names, undefined for anything not shaped like one of ours. */
export function secretId(secret: string): string | undefined {
  return SECRET.exec(secret)?.[1];
}

export function newSecret(): { id: string; secret: string } {
  const id = randomBytes(8).toString('hex');
  return { id, secret: `emp_${id}_${randomBytes(32).toString('base64url')}` };
}

function parseEntry(line: string, lineNumber: number, file: string): TokenEntry {
  let value: Partial<TokenEntry>;
  try {
    value = JSON.parse(line) as Partial<TokenEntry>;
  } catch {
    throw new TokenFileError(`${file}:${lineNumber}: not a JSON object`);
  }
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof value.id === 'string' &&
    typeof value.name === 'string' &&
    typeof value.user === 'string' &&
    (value.project === undefined || typeof value.project === 'string') &&
    Array.isArray(value.roles) &&
    value.roles.every((role) => typeof role === 'string') &&
    typeof value.hash === 'string';
  if (!ok) throw new TokenFileError(`${file}:${lineNumber}: needs id, name, user, roles and hash`);
  return value as TokenEntry;
}

/** Entries by id. A missing file is an empty one (no token accepted); a malformed line stops the load. */
export async function readTokenFile(file: string): Promise<Map<string, TokenEntry>> {
  return parseTokenFile(await readFile(file, 'utf8').catch((error: unknown) => missingIsEmpty(error, file)), file);
}

/** The same, for the start, where nothing runs yet that it could hold up. */
export function readTokenFileSync(file: string): Map<string, TokenEntry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    text = missingIsEmpty(error, file);
  }
  return parseTokenFile(text, file);
}

function missingIsEmpty(error: unknown, file: string): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
  throw new TokenFileError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
}

function parseTokenFile(text: string, file: string): Map<string, TokenEntry> {
  const entries = new Map<string, TokenEntry>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const entry = parseEntry(line, index + 1, file);
    entries.set(entry.id, entry);
  });
  return entries;
}

/** Create a token: the hash goes to the file (mode 0600 when new), the secret only to the caller. */
export async function createToken(
  file: string,
  spec: Omit<TokenEntry, 'id' | 'hash'>,
): Promise<{ entry: TokenEntry; secret: string }> {
  const existing = await readTokenFile(file);
  if ([...existing.values()].some((entry) => entry.name === spec.name))
    throw new TokenFileError(`a token named '${spec.name}' is already in ${file}`);
  const { id, secret } = newSecret();
  const entry: TokenEntry = { id, ...spec, hash: await hashSecret(secret) };
  await appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  return { entry, secret };
}

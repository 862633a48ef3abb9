import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthContext } from '../http/context';
import { AuthRefused, headerToken, type AuthStrategy } from './strategy';
import { readTokenFile, readTokenFileSync, secretId, verifySecret, type TokenEntry } from './token-file';

/**
 * Standalone API tokens (src/auth/token-file.ts): X-Auth-Token is a secret `emplace token create` printed.
 * The file is read at start and on SIGHUP; requests keep using the old entries until the new ones are read,
 * and a removed entry is refused from then on. Secrets already verified are remembered by digest, so scrypt
 * runs once per token per load, not once per request.
 */
export function tokensStrategy(file: string, logger: Logger): AuthStrategy {
  let entries = readTokenFileSync(file);
  let verified = new Map<string, TokenEntry>();
  logger.info({ tokensFile: file, tokens: entries.size }, 'API tokens loaded');
  return {
    name: 'tokens',
    async authenticate(req): Promise<AuthContext> {
      const secret = headerToken(req, 'x-auth-token');
      if (secret === undefined) throw new AuthRefused('missing_token');
      const digest = createHash('sha256').update(secret).digest('hex');
      let entry = verified.get(digest);
      if (!entry) {
        const id = secretId(secret);
        const candidate = id === undefined ? undefined : entries.get(id);
        if (!candidate || !(await verifySecret(secret, candidate.hash))) throw new AuthRefused('invalid_token');
        entry = candidate;
        // A reload may have happened while scrypt ran: only remember what the current file still holds.
        if (entries.get(candidate.id) === candidate) verified.set(digest, candidate);
      }
      return { userId: entry.user, projectId: entry.project, roles: entry.roles };
    },
    async reload() {
      const next = await readTokenFile(file);
      entries = next;
      verified = new Map();
      logger.info({ tokensFile: file, tokens: next.size }, 'API tokens reloaded');
    },
  };
}

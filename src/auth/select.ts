import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { keystoneStrategy } from './keystone';
import { noauth2Strategy } from './noauth2';
import { isLoopbackHost } from './settings';
import { TokenFileError } from './token-file';
import { tokensStrategy } from './tokens';
import type { AuthStrategy } from './strategy';

/** The strategy EMPLACE_AUTH_STRATEGY names, built once at start. */
export function strategyFromConfig(config: Config, logger: Logger): AuthStrategy {
  const { identity } = config;
  switch (identity.strategy) {
    case 'noauth2':
      return noauth2Strategy();
    case 'keystone':
      return keystoneStrategy(identity.keystone!, logger);
    case 'tokens':
      try {
        return tokensStrategy(identity.tokensFile, logger);
      } catch (error) {
        if (error instanceof TokenFileError) throw new ConfigError(`EMPLACE_TOKENS_FILE: ${error.message}`);
        throw error;
      }
  }
}

/**
 * noauth2 makes anyone who reaches the port an administrator: refuse it on a non-loopback address unless
 * the operator says so, and warn on every start that runs it that way.
 */
export function checkNoauthExposure(config: Config, logger: Logger): void {
  if (config.identity.strategy !== 'noauth2' || isLoopbackHost(config.host)) return;
  if (!config.identity.allowNoauthOnNetwork)
    throw new ConfigError(
      `EMPLACE_AUTH_STRATEGY=noauth2 on ${config.host} would let anyone on the network act as admin; ` +
        'listen on 127.0.0.1, choose keystone or tokens, or set EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true',
    );
  logger.warn(
    { host: config.host, authStrategy: 'noauth2' },
    'noauth2 on a network address: any caller can act as admin (EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true)',
  );
}

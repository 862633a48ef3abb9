import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { ConfigError, type Config } from '../config';

export interface Listener {
  server: Server;
  /** https when EMPLACE_TLS_CERT_FILE and EMPLACE_TLS_KEY_FILE are set. */
  scheme: 'http' | 'https';
  /** SIGHUP: read the certificate and key again; new connections use them, open ones keep theirs. */
  reloadTls(): void;
}

function readPair(config: Config): { cert: Buffer; key: Buffer } {
  const { tlsCertFile, tlsKeyFile } = config.identity;
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
    }
  };
  return { cert: read('EMPLACE_TLS_CERT_FILE', tlsCertFile!), key: read('EMPLACE_TLS_KEY_FILE', tlsKeyFile!) };
}

/**
 * The HTTP or HTTPS server, without a request handler yet (attach the app with `server.on('request', app)`)
 * and not listening: made before the database starts, so a bad certificate or key (ConfigError) stops the start early.
 */
export function createListener(config: Config): Listener {
  if (!config.identity.tlsCertFile) {
    return { server: createHttpServer(), scheme: 'http', reloadTls: () => undefined };
  }
  let server: HttpsServer;
  try {
    server = createHttpsServer(readPair(config));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`EMPLACE_TLS_CERT_FILE/EMPLACE_TLS_KEY_FILE: ${(error as Error).message}`);
  }
  return {
    server: server as unknown as Server,
    scheme: 'https',
    // setSecureContext throws on a bad pair, and then the old context stays in use.
    reloadTls: () => server.setSecureContext(readPair(config)),
  };
}

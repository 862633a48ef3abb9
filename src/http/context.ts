import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Microversion } from '../microversion/microversion';

/** Who is calling, as the auth middleware established it. */
export interface AuthContext {
  userId: string;
  projectId: string;
  roles: string[];
  isAdmin: boolean;
}

/** Everything a handler may use, built once in main.ts (or a test) and handed to the app. */
export interface Deps {
  db: Db;
  config: Config;
  logger: Logger;
}

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    mv: Microversion;
    auth: AuthContext;
    deps: Deps;
    /** Parsed JSON body (undefined when the request had none). */
    json: unknown;
  }
}

import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Microversion } from '../microversion/microversion';
import type { Enforcer } from '../policy/enforcer';

/** Who is calling, as the auth middleware established it; the policy layer decides what they may do. */
export interface AuthContext {
  userId: string;
  /** Absent for a system-scoped token. */
  projectId?: string;
  roles: string[];
  /** The OpenStack-System-Scope value (`all`) when the token is system-scoped. */
  systemScope?: string;
}

/** Everything a handler may use, built once in main.ts (or a test) and handed to the app. */
export interface Deps {
  db: Db;
  config: Config;
  logger: Logger;
  /** Built from config by createApp unless given (tests may hand in their own). */
  policy: Enforcer;
}

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    mv: Microversion;
    auth: AuthContext;
    deps: Deps;
    /** Parsed JSON body (undefined when the request had none). */
    json: unknown;
    /** The route table's path pattern the request matched (metrics and logs label by it, never by the URL). */
    routeTemplate?: string;
  }
}

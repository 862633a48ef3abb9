import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Microversion } from '../microversion/microversion';
import type { AuthStrategy } from '../auth/strategy';
import type { Enforcer } from '../policy/enforcer';
import type { ReadModel } from '../read-model/read-model';

/** Who is calling, as the auth middleware established it; the policy layer decides what they may do. */
export interface AuthContext {
  userId: string;
  /** Absent for a system-scoped token. */
  projectId?: string;
  roles: string[];
  /** The OpenStack-System-Scope value (`all`) when the token is system-scoped. */
  systemScope?: string;
  /** Keystone's domains of the user and project, and the domain of a domain-scoped token. */
  userDomainId?: string;
  projectDomainId?: string;
  domainId?: string;
  /** Roles of a valid X-Service-Token (keystonemiddleware's X-Service-Roles; oslo.context's service_roles). */
  serviceRoles?: string[];
  serviceUserId?: string;
  serviceProjectId?: string;
}

/** Everything a handler may use, built once in main.ts (or a test) and handed to the app. */
export interface Deps {
  db: Db;
  config: Config;
  logger: Logger;
  /** Built from config by createApp unless given (tests may hand in their own). */
  policy: Enforcer;
  /** Built from config by createApp unless given (main.ts keeps it to reload on SIGHUP). */
  authStrategy: AuthStrategy;
  /** What allocation candidates read (src/read-model); built by createApp unless given. */
  readModel: ReadModel;
  /** Where the process is in its life, for /healthz/ready; absent means serving (tests, in-process apps). */
  phase?: () => ServicePhase;
}

export type ServicePhase = 'starting' | 'serving' | 'draining';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    /** The caller's X-OpenStack-Request-ID when it is a well-formed `req-<uuid>` (oslo's global request id). */
    globalRequestId?: string;
    /** EMPLACE_PATH_PREFIX when the request came in under it (stripped from req.url before routing). */
    pathPrefix?: string;
    mv: Microversion;
    auth: AuthContext;
    deps: Deps;
    /** Parsed JSON body (undefined when the request had none). */
    json: unknown;
    /** The route table's path pattern the request matched (metrics and logs label by it, never by the URL). */
    routeTemplate?: string;
  }
}

import { ConfigError, type Config } from '../config';
import { CheckStringError, evaluate, parseCheck, type Check, type Credentials, type Target } from './check-string';
import { PolicyFileError, readPolicyFile } from './policy-file';
import { POLICY_DEFAULTS, type PolicyDefault, type PolicyName, type ScopeType } from './rules';

export interface PolicyOptions {
  /** oslo.policy enforce_new_defaults: false ORs each rule's deprecated `role:admin` back in. */
  enforceNewDefaults: boolean;
  /** oslo.policy enforce_scope: refuse tokens whose scope the action does not list. */
  enforceScope: boolean;
  /** name -> check string, from the operator's policy file; wins over defaults as written. */
  overrides: Record<string, string>;
}

/** Who is asking, in oslo.context's policy terms. */
export interface PolicyCredentials {
  userId: string;
  projectId?: string;
  roles: string[];
  /** `all` for a system-scoped token (OpenStack-System-Scope); then the token has no project. */
  systemScope?: string;
  userDomainId?: string;
  projectDomainId?: string;
  domainId?: string;
  /** A valid X-Service-Token's roles: a rule may ask `service_roles:service`, as oslo.context offers it. */
  serviceRoles?: string[];
  serviceUserId?: string;
  serviceProjectId?: string;
}

export interface Enforcer {
  /** Whether `credentials` may perform `action` on `target`. */
  allows(action: PolicyName, credentials: PolicyCredentials, target: Target): boolean;
}

/** The rule in force for one default: an override as written, else the default (plus the deprecated one in legacy mode). */
function effectiveCheck(rule: PolicyDefault, options: PolicyOptions): string {
  const override = options.overrides[rule.name];
  if (override !== undefined) return override;
  if (!options.enforceNewDefaults && rule.deprecatedCheck !== undefined && rule.deprecatedCheck !== rule.check) {
    return `(${rule.check}) or (${rule.deprecatedCheck})`;
  }
  return rule.check;
}

function tokenScope(credentials: PolicyCredentials): ScopeType {
  return credentials.systemScope ? 'system' : 'project';
}

/** Build the enforcer once at start; a bad check string throws (CheckStringError) then, not per request. */
export function createEnforcer(options: PolicyOptions, defaults: PolicyDefault[] = POLICY_DEFAULTS): Enforcer {
  const registered = new Map(defaults.map((rule) => [rule.name, rule]));
  const rules = new Map<string, Check>();
  // Extra names in the file are helper rules that others may refer to with rule:name.
  for (const [name, check] of Object.entries(options.overrides)) rules.set(name, parseCheck(check));
  for (const rule of defaults) rules.set(rule.name, parseCheck(effectiveCheck(rule, options)));

  return {
    allows(action, credentials, target) {
      const rule = registered.get(action);
      if (!rule) throw new Error(`policy ${action} is not registered`);
      if (options.enforceScope && rule.scopeTypes && !rule.scopeTypes.includes(tokenScope(credentials))) return false;
      const creds: Credentials = {
        user_id: credentials.userId,
        project_id: credentials.projectId,
        roles: credentials.roles,
        system_scope: credentials.systemScope,
        user_domain_id: credentials.userDomainId,
        project_domain_id: credentials.projectDomainId,
        domain_id: credentials.domainId,
        service_roles: credentials.serviceRoles ?? [],
        service_user_id: credentials.serviceUserId,
        service_project_id: credentials.serviceProjectId,
      };
      return evaluate(rules.get(action)!, { credentials: creds, target, rule: (name) => rules.get(name) });
    },
  };
}

/** The enforcer the service runs with: defaults, the operator's file over them, the config switches. */
export function enforcerFromConfig(config: Config, read?: (path: string) => string): Enforcer {
  try {
    const overrides = config.policyFile ? readPolicyFile(config.policyFile, read) : {};
    return createEnforcer({
      enforceNewDefaults: config.policyEnforceNewDefaults,
      enforceScope: config.policyEnforceScope,
      overrides,
    });
  } catch (error) {
    if (error instanceof PolicyFileError || error instanceof CheckStringError)
      throw new ConfigError(`EMPLACE_POLICY_FILE: ${error.message}`);
    throw error;
  }
}

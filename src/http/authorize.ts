import type { Request } from 'express';
import { forbidden } from '../errors/http-error';
import type { Target } from '../policy/check-string';
import type { PolicyName } from '../policy/rules';

/**
 * Refuse with Placement's 403 unless the caller may perform `action`. The target defaults to the
 * caller's own project and user, as Placement's context.can does; GET /usages passes the project asked about.
 */
export function authorize(req: Request, action: PolicyName, target?: Target): void {
  const { auth } = req;
  const subject = target ?? { project_id: auth.projectId, user_id: auth.userId };
  if (!req.deps.policy.allows(action, auth, subject))
    throw forbidden(`Policy does not allow ${action} to be performed.`);
}

/**
 * Failed authentications by reason (missing_token, invalid_token, invalid_service_token, rate_limited, ...),
 * since the process started. The metrics endpoint reads them; nothing here names a token or a client.
 */
const counts = new Map<string, number>();

export function recordAuthFailure(reason: string): void {
  counts.set(reason, (counts.get(reason) ?? 0) + 1);
}

export function authFailureCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

/**
 * Failed authentications by reason (missing_token, invalid_token, invalid_service_token, rate_limited, ...),
 * since the process started. The metrics endpoint reads them; nothing here names a token or a client.
 */
import { countAuthFailure } from '../metrics/metrics';

const counts = new Map<string, number>();

/** The one place a failed authentication is recorded; it also feeds /metrics' auth failure counter. */
export function recordAuthFailure(reason: string): void {
  counts.set(reason, (counts.get(reason) ?? 0) + 1);
  countAuthFailure(reason);
}

export function authFailureCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

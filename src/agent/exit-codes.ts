/** The agent's exit statuses (docs/agent.md lists them; the systemd unit keys on EXIT_CONFIG). */
export const EXIT_IN_SYNC = 0;
/** Bad configuration: restarting will not help (RestartPreventExitStatus=1). */
export const EXIT_CONFIG = 1;
/** Not in sync: a failed cycle, a refused or clashing write, or pending changes under --dry-run. */
export const EXIT_NOT_IN_SYNC = 2;
/** Everything known is in sync, but some evidence was missing: those models were left as they were. */
export const EXIT_UNKNOWN = 3;

/** A bug (an exception nothing caught): systemd restarts the agent (EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;

export function exitStatusOf(outcome: 'in-sync' | 'unknown' | 'failed'): number {
  return outcome === 'in-sync' ? EXIT_IN_SYNC : outcome === 'unknown' ? EXIT_UNKNOWN : EXIT_NOT_IN_SYNC;
}

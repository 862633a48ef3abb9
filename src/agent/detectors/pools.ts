import { isMiss, type SlotReport, type SourceResult } from './types';

/**
 * One ASID pool as the capacity sources see it. `zero` needs two independent sources reading 0: one 0 alone
 * is what the misc cgroup shows right after kvm_amd unloads, not evidence that the hardware has no slots.
 */
export type Pool =
  | { kind: 'count'; value: number; said: string }
  | { kind: 'zero'; said: string }
  | { kind: 'unknown'; why: string; said?: string };

export type PoolKey = 'sev' | 'es' | 'tdx';

const POOL_LABEL: Record<PoolKey, string> = { sev: 'SEV', es: 'SEV-ES/SNP', tdx: 'TDX' };

export function resolvePool(sources: SourceResult[], key: PoolKey, disagreements: string[]): Pool {
  const said = sources.filter((s): s is SlotReport => !isMiss(s) && s[key] !== undefined);
  const text = said.map((s) => `${s.source}=${s[key]}`).join(', ');
  if (said.length === 0) return { kind: 'unknown', why: `no capacity source gives the ${POOL_LABEL[key]} slot count` };
  const zeros = said.filter((s) => s[key] === 0);
  const counts = said.filter((s) => (s[key] as number) > 0).map((s) => s[key] as number);
  if (zeros.length > 0 && counts.length > 0) {
    disagreements.push(`${POOL_LABEL[key]} slots: ${text}; a zero against a count: unknown`);
    return { kind: 'unknown', why: `capacity sources disagree (${text})`, said: text };
  }
  if (zeros.length >= 2) return { kind: 'zero', said: text };
  if (zeros.length === 1)
    return { kind: 'unknown', why: `only ${zeros[0].source} reads 0 ${POOL_LABEL[key]} slots`, said: text };
  const lowest = Math.min(...counts);
  if (counts.some((v) => v !== lowest)) disagreements.push(`${POOL_LABEL[key]} slots: ${text}; using ${lowest}`);
  return { kind: 'count', value: lowest, said: text };
}

/** Whether every pool in `keys` is settled (a count or two zeros), so the kernel log need not be read. */
export const settled = (pools: Pool[]): boolean => pools.every((p) => p.kind !== 'unknown');

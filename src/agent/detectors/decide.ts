import type { ModelName } from '../model';
import type { HostCpu } from './cpuinfo';
import { countOf, flagOf, type ModuleReading } from './kvm';
import type { Pool } from './pools';
import { UNKNOWN } from './types';

/**
 * What the agent concluded about one model. `absent` only on positive evidence (the kernel, the CPU or
 * libvirt says no, or two capacity sources read 0); everything else that is not a clear yes is `unknown`,
 * and an unknown model's inventory and traits are left exactly as they are.
 */
export type ModelState =
  | {
      state: 'present';
      slots: number;
      /** The ASID pool the slots come from, before the operator's cap. */
      pool: number;
      /** ES and SNP draw on one range (no ciphertext hiding): the other model's guests use it too. */
      sharesWith?: ModelName;
      reason: string;
    }
  | { state: 'absent' | 'unknown'; slots: 0; reason: string };

export interface Evidence {
  cpu: HostCpu;
  amd: ModuleReading;
  intel: ModuleReading;
  pools: { sev: Pool; es: Pool; tdx: Pool };
  /** undefined when libvirt did not answer. */
  libvirtSnp?: boolean;
  qemu?: [number, number, number];
  caps: Partial<Record<ModelName, number>>;
}

type Gate = { ok: true } | { ok: false; state: 'absent' | 'unknown'; reason: string };
const OK: Gate = { ok: true };
const absent = (reason: string): Gate => ({ ok: false, state: 'absent', reason });
const unknown = (reason: string): Gate => ({ ok: false, state: 'unknown', reason });
const stateOf = (gate: Exclude<Gate, { ok: true }>): ModelState => ({
  state: gate.state,
  slots: 0,
  reason: gate.reason,
});

/** Host-wide gates for a vendor: an x86_64 CPU of that vendor, and its KVM module loaded. */
function hostGate(ev: Evidence, vendor: 'AuthenticAMD' | 'GenuineIntel', module: ModuleReading): Gate {
  const { cpu } = ev;
  if (cpu.vendor === UNKNOWN)
    return unknown(`CPU vendor unknown (${cpu.notes.join('; ') || '/proc/cpuinfo unreadable'})`);
  if (cpu.arch === UNKNOWN) return unknown('machine architecture unknown');
  if (cpu.arch !== 'x86_64') return absent(`not an x86_64 host (${cpu.arch})`);
  if (cpu.vendor !== vendor) return absent(`CPU vendor is ${cpu.vendor}, not ${vendor}`);
  if (module.loaded === UNKNOWN) return unknown(`/sys/module/${module.name} unreadable`);
  if (module.loaded === false) return unknown(`${module.name} is not loaded (or /sys/module is not visible here)`);
  return OK;
}

/**
 * One kvm_amd/kvm_intel switch: a CPU flag the firmware must set (missing while the module is loaded means
 * the BIOS has it off) and the module parameter (N/0 means an operator turned it off).
 */
function switchGate(ev: Evidence, module: ModuleReading, param: string, label: string, cpuFlag?: string): Gate {
  const value = module.params[param];
  if (value === UNKNOWN) return unknown(`${module.name} parameter ${param} unreadable`);
  if (value === 'missing') return absent(`${module.name} has no ${param} parameter (kernel without ${label} support)`);
  if (cpuFlag && ev.cpu.flags !== UNKNOWN && !ev.cpu.flags.has(cpuFlag))
    return absent(`${label} disabled in firmware/BIOS (no '${cpuFlag}' flag in /proc/cpuinfo)`);
  const flag = flagOf(value);
  if (flag === UNKNOWN) return unknown(`${module.name} parameter ${param} reads ${JSON.stringify(value)}`);
  if (flag === false) return absent(`${label} disabled by ${module.name} parameter ${param}=${value}`);
  return OK;
}

const all = (...gates: Gate[]): Gate => gates.find((g) => !g.ok) ?? OK;

function capped(ev: Evidence, model: ModelName, slots: number): number {
  const cap = ev.caps[model];
  return cap === undefined ? slots : Math.min(slots, cap);
}

function fromPool(ev: Evidence, model: ModelName, gate: Gate, pool: Pool, label: string): ModelState {
  if (!gate.ok) return stateOf(gate);
  if (pool.kind === 'unknown') return { state: 'unknown', slots: 0, reason: pool.why };
  if (pool.kind === 'zero') return { state: 'absent', slots: 0, reason: `no ${label} slots (${pool.said})` };
  const slots = capped(ev, model, pool.value);
  if (slots === 0) return { state: 'absent', slots: 0, reason: `${label} capped at 0 slots` };
  return { state: 'present', slots, pool: pool.value, reason: `${pool.value} slots (${pool.said})` };
}

const QEMU_FOR_ES: [number, number] = [8, 0];

function esGate(ev: Evidence, amd: Gate): Gate {
  const own = all(
    amd,
    switchGate(ev, ev.amd, 'sev', 'SEV', 'sev'),
    switchGate(ev, ev.amd, 'sev_es', 'SEV-ES', 'sev_es'),
  );
  if (!own.ok || !ev.qemu) return own;
  const [major, minor] = ev.qemu;
  // nova's rule: QEMU 8.0 is the first that launches SEV-ES guests.
  if (major < QEMU_FOR_ES[0] || (major === QEMU_FOR_ES[0] && minor < QEMU_FOR_ES[1]))
    return absent(`QEMU ${ev.qemu.join('.')} is older than 8.0, which SEV-ES needs`);
  return OK;
}

/** The kernel side of SNP (module, firmware), and then libvirt's side where libvirt answers. */
function snpGates(ev: Evidence, amd: Gate): { kernel: Gate; full: Gate } {
  const kernel = all(
    amd,
    switchGate(ev, ev.amd, 'sev', 'SEV', 'sev'),
    switchGate(ev, ev.amd, 'sev_es', 'SEV-ES', 'sev_es'),
    switchGate(ev, ev.amd, 'sev_snp', 'SEV-SNP', 'sev_snp'),
  );
  if (!kernel.ok || ev.libvirtSnp !== false) return { kernel, full: kernel };
  return { kernel, full: absent("libvirt's domain capabilities do not list sev-snp in <launchSecurity>") };
}

/**
 * SEV-ES and SEV-SNP share the ASIDs below the SEV range. With ciphertext hiding the kernel splits them:
 * SNP gets `ciphertext_hiding_asids`, ES the rest. Without it one range serves both, so it is offered to
 * one model only (SNP when it is usable, else ES); the planner subtracts what the other still uses.
 */
function sharedModels(ev: Evidence, amd: Gate): { sev_es: ModelState; sev_snp: ModelState } {
  const es = esGate(ev, amd);
  const snp = snpGates(ev, amd);
  const pool = ev.pools.es;
  const hiding = snp.kernel.ok ? countOf(ev.amd.params.ciphertext_hiding_asids) : 0;
  if (hiding === UNKNOWN) {
    const why = { state: 'unknown', slots: 0, reason: 'kvm_amd parameter ciphertext_hiding_asids unreadable' } as const;
    return { sev_es: es.ok ? why : stateOf(es), sev_snp: snp.full.ok ? why : stateOf(snp.full) };
  }
  if (pool.kind !== 'count' || hiding === 0) return unsplit(ev, es, snp.full, pool);
  const snpPool = Math.min(hiding, pool.value);
  const esPool = pool.value - snpPool;
  const split = (n: number, what: string): Pool => ({ kind: 'count', value: n, said: `${what} of ${pool.said}` });
  const sevEs =
    esPool === 0 && es.ok
      ? ({ state: 'absent', slots: 0, reason: 'ciphertext hiding gives every ES/SNP ASID to SEV-SNP' } as const)
      : fromPool(ev, 'sev_es', es, split(esPool, `${esPool} left by ciphertext hiding`), 'SEV-ES');
  return {
    sev_es: sevEs,
    sev_snp: fromPool(ev, 'sev_snp', snp.full, split(snpPool, `ciphertext_hiding_asids=${hiding}`), 'SEV-SNP'),
  };
}

function unsplit(ev: Evidence, es: Gate, snp: Gate, pool: Pool): { sev_es: ModelState; sev_snp: ModelState } {
  const sevSnp = fromPool(ev, 'sev_snp', snp, pool, 'SEV-SNP');
  if (sevSnp.state === 'present') {
    const sevEs: ModelState = es.ok
      ? { state: 'absent', slots: 0, reason: 'the shared ES/SNP ASID range is offered to SEV-SNP' }
      : stateOf(es);
    return { sev_es: sevEs, sev_snp: { ...sevSnp, sharesWith: 'sev_es' } };
  }
  if (sevSnp.state === 'unknown' && es.ok)
    return {
      sev_es: { state: 'unknown', slots: 0, reason: `SEV-SNP unknown (${sevSnp.reason}): the shared range may be its` },
      sev_snp: sevSnp,
    };
  const sevEs = fromPool(ev, 'sev_es', es, pool, 'SEV-ES');
  return { sev_es: sevEs.state === 'present' ? { ...sevEs, sharesWith: 'sev_snp' } : sevEs, sev_snp: sevSnp };
}

export function decideModels(ev: Evidence): Record<ModelName, ModelState> {
  const amd = hostGate(ev, 'AuthenticAMD', ev.amd);
  const sevGate = all(amd, switchGate(ev, ev.amd, 'sev', 'SEV', 'sev'));
  const intel = hostGate(ev, 'GenuineIntel', ev.intel);
  const tdxGate = all(intel, switchGate(ev, ev.intel, 'tdx', 'TDX'));
  return {
    sev: fromPool(ev, 'sev', sevGate, ev.pools.sev, 'SEV'),
    ...sharedModels(ev, amd),
    tdx: fromPool(ev, 'tdx', tdxGate, ev.pools.tdx, 'TDX'),
  };
}

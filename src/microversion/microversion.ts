import { MAX_VERSION, MIN_VERSION } from './versions';

/** A parsed microversion; compares numerically so 1.10 is after 1.9. */
export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  static parse(text: string): Microversion | null {
    const match = /^(\d+)\.(\d+)$/.exec(text);
    if (!match) return null;
    return new Microversion(Number(match[1]), Number(match[2]));
  }

  static fromKnown(text: string): Microversion {
    const version = Microversion.parse(text);
    if (!version) throw new Error(`not a microversion: ${text}`);
    return version;
  }

  compare(other: Microversion): number {
    return this.major - other.major || this.minor - other.minor;
  }

  /** True when this request's version is at least `gate` (a constant from versions.ts). */
  has(gate: string): boolean {
    return this.compare(parsedGate(gate)) >= 0;
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

export const MIN_MICROVERSION = Microversion.fromKnown(MIN_VERSION);
export const MAX_MICROVERSION = Microversion.fromKnown(MAX_VERSION);

/** Gates are a few dozen constants asked per provider in listings: parse each once, not per call. */
const gates = new Map<string, Microversion>();

function parsedGate(gate: string): Microversion {
  let version = gates.get(gate);
  if (!version) {
    version = Microversion.fromKnown(gate);
    gates.set(gate, version);
  }
  return version;
}

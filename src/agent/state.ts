import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Drains } from './inventory-merge';

/** What the agent must remember across restarts: its provider uuid and the drains it made. */
export interface AgentState {
  providerUuid?: string;
  drains: Drains;
  /** false when there was no state file (first start, or the state dir was lost). */
  found: boolean;
}

/** Earlier versions kept `draining: ["uuid:CLASS"]` without the operator's reserved; 0 was what they restored. */
function drainsOf(data: { drains?: unknown; draining?: unknown }): Drains {
  const drains: Drains = {};
  if (Array.isArray(data.draining))
    for (const key of data.draining) if (typeof key === 'string') drains[key] = { reserved: 0 };
  if (data.drains && typeof data.drains === 'object') {
    for (const [key, value] of Object.entries(data.drains as Record<string, { reserved?: unknown }>)) {
      const reserved = value?.reserved;
      drains[key] = { reserved: typeof reserved === 'number' && reserved >= 0 ? reserved : 0 };
    }
  }
  return drains;
}

export class StateStore {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'state.json');
  }

  load(): AgentState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { drains: {}, found: false };
      throw new Error(`state file ${this.file} unreadable: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
    }
    let data: { providerUuid?: unknown; drains?: unknown; draining?: unknown };
    try {
      data = JSON.parse(text) as typeof data;
    } catch (error) {
      throw new Error(`state file ${this.file} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    return {
      providerUuid: typeof data.providerUuid === 'string' ? data.providerUuid : undefined,
      drains: drainsOf(data),
      found: true,
    };
  }

  /** Write-then-rename so a crash never leaves a half-written file (and a new uuid on the next start). */
  save(state: Omit<AgentState, 'found'>): void {
    writeAtomically(
      this.file,
      JSON.stringify({ providerUuid: state.providerUuid, drains: state.drains }, null, 2) + '\n',
    );
  }
}

export function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

export const newProviderUuid = (): string => randomUUID();

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What the agent must remember across restarts: its provider uuid and which inventories it drained. */
export interface AgentState {
  providerUuid?: string;
  draining: string[];
}

export class StateStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = path.join(dir, 'state.json');
  }

  load(): AgentState {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8'));
      return { providerUuid: data.providerUuid, draining: Array.isArray(data.draining) ? data.draining : [] };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { draining: [] };
      throw new Error(`state file ${this.file} unreadable: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Write-then-rename so a crash never leaves a half-written file (and a new uuid on the next start). */
  save(state: AgentState): void {
    mkdirSync(this.dir, { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state, null, 2) + '\n');
    renameSync(temp, this.file);
  }
}

export const newProviderUuid = (): string => randomUUID();

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_DEFAULTS } from '../../src/agent/config';
import { Agent } from '../../src/agent/loop';

/** Poll until `done` holds or `withinMs` passed: the loop's pace, not this machine's load, decides the counts. */
async function until(done: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('agent loop', () => {
  it('keeps going with growing, capped backoff while the service is down, and stops on abort', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'agent-loop-'));
    const errors: Array<{ failures: number; nextInMs: number }> = [];
    const quiet = () => undefined;
    const logger = {
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: (obj: any) => void (obj.failures !== undefined && errors.push(obj)),
    };
    const agent = new Agent(
      {
        ...AGENT_DEFAULTS,
        url: 'http://127.0.0.1:1',
        providerName: 'down.example.org',
        hostRoot: path.join(__dirname, '..', 'fixtures', 'hosts', 'sev-es-cgroup2'),
        stateDir,
        requestRetries: 0,
        backoffBaseMs: 4,
        backoffCapMs: 16,
      },
      logger,
    );
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    await until(() => errors.length >= 4, 20_000);
    controller.abort();
    await expect(running).resolves.toBeUndefined();
    rmSync(stateDir, { recursive: true, force: true });
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors.map((e) => e.failures).slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(Math.max(...errors.map((e) => e.nextInMs))).toBeLessThanOrEqual(16);
    expect(errors[3].nextInMs).toBeGreaterThanOrEqual(8);
  });

  it('waits the normal interval after a clash or refusal (terminal), not the quick backoff', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'agent-loop-'));
    const quiet = () => undefined;
    const agent = new Agent(
      {
        ...AGENT_DEFAULTS,
        providerName: 'clash.example.org',
        stateDir,
        intervalSeconds: 0.05,
        jitter: 0,
        backoffBaseMs: 10_000,
        backoffCapMs: 10_000,
      },
      { debug: quiet, info: quiet, warn: quiet, error: quiet },
    );
    let cycles = 0;
    const terminal = { outcome: 'failed', terminal: true, errors: ['clash'], unknowns: [], drift: [] };
    agent.runCycle = async () => {
      cycles++;
      return {
        ...terminal,
        applied: [],
        plan: { ops: [], warnings: [], errors: [], clashes: ['clash'], drains: {}, holders: {} },
        detection: { models: {}, warnings: [], disagreements: [] },
      } as never;
    };
    agent.logSummary = () => undefined;
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    // Within 5 s: a 10 s backoff would allow one cycle, the 50 ms interval many.
    await until(() => cycles >= 3, 5_000);
    controller.abort();
    await running;
    rmSync(stateDir, { recursive: true, force: true });
    expect(cycles).toBeGreaterThanOrEqual(3);
  });
});

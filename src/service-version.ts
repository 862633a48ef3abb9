import { agentVersion } from './agent/version';

/** The release running: package.json's version (the agent and the service ship together). */
export function serviceVersion(): string {
  return agentVersion(__dirname);
}

/**
 * The agent's logger: one JSON object per line on stderr (pino's shape: level, time, msg, fields), so journald
 * and log shippers read it like the service's logs, while the installed agent needs no node_modules at all.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

export function levelKnown(level: string): boolean {
  return level === 'silent' || level in LEVELS || level === 'trace' || level === 'fatal';
}

export function jsonLogger(
  level: string,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold =
    level === 'silent'
      ? Infinity
      : level === 'trace'
        ? 10
        : level === 'fatal'
          ? 60
          : (LEVELS[level as Level] ?? LEVELS.info);
  const emit = (name: Level) => (obj: object, msg?: string) => {
    if (LEVELS[name] < threshold) return;
    write(
      JSON.stringify({
        level: LEVELS[name],
        time: Date.now(),
        service: 'emplace-agent',
        ...obj,
        ...(msg ? { msg } : {}),
      }) + '\n',
    );
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

import { parseArgs } from 'node:util';
import { createToken, TokenFileError } from '../auth/token-file';
import type { Config } from '../config';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './run-cli';

export const TOKEN_USAGE = `usage: emplace token create --name NAME [--roles ROLE,...] [--user USER] [--project PROJECT] [--file FILE]
       (also installed as emplace-token)

  create   add an API token for the tokens strategy (EMPLACE_AUTH_STRATEGY=tokens) to FILE
           (default EMPLACE_TOKENS_FILE): its salted scrypt hash goes to the file, the secret is printed
           once, on standard output, and is stored nowhere. --user defaults to the name; --roles to
           none. Revoke a token by deleting its line and sending the service SIGHUP.`;

/** `emplace token create ...`: prints the secret alone on stdout, so `secret=$(emplace-token create ...)` works. */
export async function runTokenCommand(args: string[], config: Config, io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'create') {
    io.err(TOKEN_USAGE);
    return EXIT_FAILED;
  }
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        roles: { type: 'string' },
        user: { type: 'string' },
        project: { type: 'string' },
        file: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`emplace token: ${(error as Error).message}\n${TOKEN_USAGE}`);
    return EXIT_FAILED;
  }
  const name = values.name;
  if (!name || !/^[\w.@-]{1,255}$/.test(name)) {
    io.err(`emplace token: --name is required (letters, digits, . _ - @)\n${TOKEN_USAGE}`);
    return EXIT_FAILED;
  }
  const file = values.file ?? config.identity.tokensFile;
  const roles = (values.roles ?? '')
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  try {
    const { entry, secret } = await createToken(file, {
      name,
      user: values.user ?? name,
      ...(values.project ? { project: values.project } : {}),
      roles,
    });
    io.out(secret);
    io.err(`emplace token: added '${entry.name}' (id ${entry.id}, roles ${roles.join(',') || 'none'}) to ${file}`);
    io.err('emplace token: the secret above is shown once; send the service SIGHUP to load the file');
    return EXIT_OK;
  } catch (error) {
    if (error instanceof TokenFileError || (error as NodeJS.ErrnoException).code) {
      io.err(`emplace token: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

import { ConfigError, loadConfig } from '../config/config.js';
import { COMMANDS } from './commands/index.js';
import { CliError, UsageError } from './errors.js';
import { parseCommandLine } from './options.js';
import { USAGE } from './usage.js';

async function main(argv: string[]): Promise<void> {
  const { name, help, line } = parseCommandLine(argv, COMMANDS);
  if (help || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  return command.run(config, line);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // One line, no stack: the operator needs to know which setting to fix.
  if (error instanceof ConfigError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof CliError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`keygate: ${(error as Error).message}\n\n${USAGE}\n`);
  } else {
    process.stderr.write(`keygate: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
  }
  process.exit(1);
});

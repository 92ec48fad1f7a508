import { ConfigError, loadConfig } from '../config/config.js';
import { COMMANDS } from './commands/index.js';
import { CliError, UsageError } from './errors.js';
import { parseCommandLine } from './options.js';
import { commandUsage, USAGE } from './usage.js';
import { packageVersion } from './version.js';

async function main(argv: string[]): Promise<void> {
  const { name, help, version, line } = parseCommandLine(argv, COMMANDS);
  if (version) {
    process.stdout.write(`${await packageVersion()}\n`);
    return;
  }
  const asked = name === 'help' ? line.words[0] : help ? name : undefined;
  if (name === 'help' || help) {
    const command = COMMANDS.find((candidate) => candidate.name === asked);
    if (asked !== undefined && !command) throw new UsageError(`unknown command "${asked}"; keygate help lists them`);
    process.stdout.write(`${command ? commandUsage(command.name, command.flags) : USAGE}\n`);
    return;
  }
  const config = loadConfig();
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"; keygate help lists them`);
  return command.run(config, line);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // One line, no stack: the operator needs to know which setting to fix.
  if (error instanceof ConfigError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof CliError) {
    process.stderr.write(`keygate: ${error.message}\n`);
  } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    // One line: the 40-line usage text would push the message off the screen.
    process.stderr.write(`keygate: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`keygate: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
  }
  process.exit(1);
});

import { ConfigError, loadConfig } from '../config/config.js';
import { COMMANDS } from './commands/index.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { terminalSafe } from './format.js';
import { parseCommandLine } from './options.js';
import { commandUsage, USAGE } from './usage.js';
import { packageVersion } from './version.js';

/** Whether failures print as JSON: known once the line parses, guessed from the words before that. */
let jsonErrors = false;

async function main(argv: string[]): Promise<void> {
  jsonErrors = argv.includes('--json');
  const { name, help, version, line } = parseCommandLine(argv, COMMANDS);
  jsonErrors = line.values.json === true;
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

/** Every failure as a CliError: its exit code and its one message. */
function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  // parseArgs' own complaints (a flag missing its value, say) are wrong usage too.
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return new UsageError((error as Error).message);
  if (error instanceof ConfigError) return new CliError(error.message, EXIT.failed);
  return new CliError((error as Error).message ?? String(error), EXIT.failed);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const failure = asCliError(error);
  if (jsonErrors) {
    // One line on stderr: stdout carries results only, so a script's pipe stays clean.
    process.stderr.write(`${JSON.stringify(failure.toJson())}\n`);
  } else {
    // One line, no stack (and no 40-line usage text): the operator needs to know which setting to fix.
    process.stderr.write(terminalSafe(`keygate: ${failure.message}${failure.hint ? `\n  ${failure.hint}` : ''}\n`));
  }
  if (!(error instanceof CliError) && !(error instanceof ConfigError) && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(failure.exitCode);
});

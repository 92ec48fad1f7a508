import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { UsageError } from './errors.js';

/** One flag, as node:util parseArgs takes it. */
export interface Flag {
  readonly type: 'string' | 'boolean';
  /** Repeatable: the values come as an array. */
  readonly multiple?: boolean;
  readonly short?: string;
}

export type Flags = Readonly<Record<string, Flag>>;

/** What parseArgs gives for each flag of a table: absent when not given. */
export type FlagValues<F extends Flags> = {
  readonly [K in keyof F]?: (F[K]['type'] extends 'boolean' ? boolean : F[K] extends { readonly multiple: true } ? string[] : string) | undefined;
};

/** A command line as one command reads it. */
export interface CommandLine<F extends Flags> {
  /** The words after the command name: `keygate keypairs show ID` gives ['show', 'ID']. */
  readonly words: readonly (string | undefined)[];
  /** Only the flags the command declares. */
  readonly values: FlagValues<F>;
}

interface ParsedLine {
  readonly words: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
}

/** One `keygate <name>` command (or command group) and the flags it reads. */
export interface Command {
  readonly name: string;
  readonly flags: Flags;
  run(config: Config, line: ParsedLine): Promise<void>;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS = { help: { type: 'boolean', short: 'h' } } as const satisfies Flags;

/** Declares a command with its own flags; `run` sees those flags only, typed. */
export function defineCommand<const F extends Flags>(command: { name: string; flags: F; run(config: Config, line: CommandLine<F>): Promise<void> }): Command {
  return {
    name: command.name,
    flags: command.flags,
    run(config, line) {
      const own = Object.fromEntries(Object.entries(line.values).filter(([flag]) => Object.hasOwn(command.flags, flag)));
      // parseArgs parsed these very names with these very descriptors, so the values have the declared types.
      return command.run(config, { words: line.words, values: own as FlagValues<F> });
    },
  };
}

/**
 * Every command's flags in one table. Until per-command flags are enforced, a command
 * accepts (and ignores) the flags of the others, as the CLI always has, so each name
 * must mean the same everywhere.
 */
function everyFlag(commands: readonly Command[]): Flags {
  const table: Record<string, Flag> = { ...GLOBAL_FLAGS };
  for (const command of commands) {
    for (const [name, flag] of Object.entries(command.flags)) {
      const known = table[name];
      if (known && (known.type !== flag.type || known.multiple !== flag.multiple || known.short !== flag.short)) {
        throw new Error(`--${name} is declared differently by ${command.name} and another command`);
      }
      table[name] = flag;
    }
  }
  return table;
}

/**
 * Splits `keygate [command] [words...] [--flags...]`: the command name (default
 * `serve`), whether help was asked for, and the rest for the command. Throws parseArgs'
 * ERR_PARSE_ARGS_* errors for a flag no command declares or a value missing.
 */
export function parseCommandLine(argv: string[], commands: readonly Command[]): { name: string; help: boolean; line: ParsedLine } {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: everyFlag(commands) });
  const [name = 'serve', ...words] = positionals;
  return { name, help: values.help === true, line: { words, values } };
}

/** A flag taking whole seconds, or `fallback` when not given. */
export function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} takes a whole number of seconds`);
  return Number(raw);
}

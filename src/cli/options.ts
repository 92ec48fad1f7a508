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
export const GLOBAL_FLAGS = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const satisfies Flags;

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
 * Every command's flags in one table: only to find the command's name in a line whose
 * flags come first (`keygate --url U keypairs list`), so each name must mean the same
 * everywhere.
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

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The declared flag nearest to `given` (a name without dashes). */
export function closestFlag(given: string, flags: Flags): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of Object.keys(flags)) {
    const distance = editDistance(given, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}

/**
 * Splits `keygate [command] [words...] [--flags...]`: the command name (`help` when
 * none is given: a bare `keygate` must not start a second server), whether help or the
 * version was asked for, and the rest for the command. A flag the command does not
 * declare is a UsageError naming the nearest one it does.
 */
export function parseCommandLine(argv: string[], commands: readonly Command[]): { name: string; help: boolean; version: boolean; line: ParsedLine } {
  const loose = parseArgs({ args: argv, allowPositionals: true, strict: false, options: everyFlag(commands) });
  const command = commands.find((candidate) => candidate.name === loose.positionals[0]);
  const flags: Flags = { ...GLOBAL_FLAGS, ...command?.flags };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: flags });
  } catch (error) {
    const unknown = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-{1,2}[^']+)'/.exec((error as Error).message)?.[1] : undefined;
    if (!unknown) throw error;
    const given = unknown.replace(/^-+/, '').replace(/=.*$/, '');
    const owner = command ? `keygate ${command.name}` : 'keygate';
    throw new UsageError(`unknown flag ${unknown} for ${owner}; did you mean --${closestFlag(given, flags)}?`);
  }
  const [name = 'help', ...words] = parsed.positionals;
  return { name, help: parsed.values.help === true, version: parsed.values.version === true, line: { words, values: parsed.values } };
}

/** A flag taking whole seconds, or `fallback` when not given. */
export function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} takes a whole number of seconds`);
  return Number(raw);
}

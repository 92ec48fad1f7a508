import type { Problem } from './api_types.js';

/**
 * The CLI's exit codes, documented in `keygate --help` and the README. 2 for wrong usage
 * as getopt-style tools do; the others are Keygate's own, one per thing a script can act
 * on: create what is missing, reread and retry, start the server, fix the credentials.
 */
export const EXIT = {
  ok: 0,
  /** Anything not listed below. */
  failed: 1,
  /** A bad flag, argument or field (also the server's 400). */
  usage: 2,
  /** What was named does not exist (404). */
  notFound: 3,
  /** It exists but is in another state: conflict, precondition (409, 412, 422). */
  conflict: 4,
  /** No server answered, or it said it is unavailable (network error, 503). */
  unreachable: 5,
  /** The credentials were refused (401, 403). */
  refused: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an admin API status that is not a success. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400) return EXIT.usage;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 412 || status === 422) return EXIT.conflict;
  if (status === 503) return EXIT.unreachable;
  if (status === 401 || status === 403) return EXIT.refused;
  return EXIT.failed;
}

const CODE_OF_EXIT: Record<ExitCode, string> = {
  0: 'ok',
  1: 'failed',
  2: 'usage',
  3: 'not_found',
  4: 'conflict',
  5: 'unreachable',
  6: 'refused',
};

const TITLE_OF_EXIT: Record<ExitCode, string> = {
  0: 'OK',
  1: 'Failed',
  2: 'Wrong usage',
  3: 'Not found',
  4: 'Conflict',
  5: 'Server unreachable',
  6: 'Refused',
};

/** A failure the CLI reports as `keygate: <message>` (or JSON with --json) and its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
    /** The server's problem+json body, when the failure is the server's answer. */
    readonly problem?: Partial<Problem> & { status: number },
    /** What to check next, said after the message (and as `hint` in JSON). */
    readonly hint?: string,
  ) {
    super(message);
  }

  /** The `{"error": {...}}` a --json caller reads: the server's problem fields when it sent them. */
  toJson(): { error: Record<string, unknown> } {
    const { problem } = this;
    return {
      error: {
        ...problem,
        status: problem?.status ?? null,
        code: problem?.code ?? CODE_OF_EXIT[this.exitCode],
        title: problem?.title ?? TITLE_OF_EXIT[this.exitCode],
        detail: problem?.detail ?? this.message,
        ...(this.hint !== undefined && { hint: this.hint }),
      },
    };
  }
}

/** Wrong usage (exit code 2): a flag, an argument or a missing choice. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** What the command names does not exist (exit code 3), found out before or without a 404. */
export class NotFoundError extends CliError {
  constructor(message: string) {
    super(message, EXIT.notFound);
  }
}

/** A failure the CLI reports as `keygate: <message>` and exit code 1. */
export class CliError extends Error {}

/** Wrong usage: reported like a CliError, followed by the usage text. */
export class UsageError extends Error {}

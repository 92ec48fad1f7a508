import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { defineCommand, parseCommandLine, type Command } from '../../src/cli/options.js';

/** A command that hands back what it was given, so a test can see its view of the line. */
function recording<const F extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(name: string, flags: F) {
  const seen: Array<{ words: readonly (string | undefined)[]; values: object }> = [];
  const command = defineCommand({
    name,
    flags,
    async run(_config, line) {
      seen.push(line);
    },
  });
  return { command, seen };
}

async function run(argv: string[], commands: readonly Command[]) {
  const { name, help, line } = parseCommandLine(argv, commands);
  await commands.find((command) => command.name === name)?.run({} as Config, line);
  return { name, help };
}

describe('each command declares its own flags', () => {
  it('a command reads only its flags, and the words after its name', async () => {
    const keys = recording('keys', { 'activate-in': { type: 'string' } });
    const users = recording('users', { email: { type: 'string' }, operator: { type: 'boolean' } });
    expect(await run(['users', 'create', '--email', 'a@b.c', '--operator', 'extra'], [keys.command, users.command])).toEqual({ name: 'users', help: false });
    expect(users.seen).toEqual([{ words: ['create', 'extra'], values: { email: 'a@b.c', operator: true } }]);
    expect(keys.seen).toEqual([]);
  });

  it("refuses another command's flag, naming the nearest flag of this one", () => {
    const keys = recording('keys', { 'activate-in': { type: 'string' } });
    const users = recording('users', { email: { type: 'string' } });
    expect(() => parseCommandLine(['keys', '--email', 'x', 'rotate'], [keys.command, users.command])).toThrow('unknown flag --email for keygate keys; did you mean --');
    expect(() => parseCommandLine(['keys', 'rotate', '--activate=3'], [keys.command, users.command])).toThrow('unknown flag --activate for keygate keys; did you mean --activate-in?');
  });

  it('reads --help, -h and --version for every command; no command at all means help', () => {
    const keys = recording('keys', { 'activate-in': { type: 'string' } });
    expect(() => parseCommandLine(['keys', 'list', '--frobnicate'], [keys.command])).toThrow('unknown flag --frobnicate for keygate keys');
    expect(parseCommandLine(['keys', '-h'], [keys.command])).toMatchObject({ name: 'keys', help: true });
    expect(parseCommandLine(['--version'], [keys.command])).toMatchObject({ version: true });
    expect(parseCommandLine([], [keys.command])).toMatchObject({ name: 'help', help: false });
  });

  it('refuses two commands that give one flag different meanings', () => {
    const a = recording('a', { limit: { type: 'string' } });
    const b = recording('b', { limit: { type: 'boolean' } });
    expect(() => parseCommandLine(['a'], [a.command, b.command])).toThrow('--limit is declared differently by b and another command');
  });
});

describe("keygate's commands", () => {
  it('have one name each and agree on every flag they share', () => {
    const names = COMMANDS.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['serve', 'migrate', 'cleanup', 'keys', 'admin-token', 'console-link', 'keypairs', 'accounts', 'environments', 'resource-servers', 'users', 'admins']));
    expect(parseCommandLine(['keypairs', 'create', '--name', 'n', '--grant', 'https://a=r', '--grant', 'https://b=w'], COMMANDS).line).toMatchObject({
      words: ['create'],
      values: { name: 'n', grant: ['https://a=r', 'https://b=w'] },
    });
  });
});

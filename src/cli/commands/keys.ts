import { KEY_ACTIVATION_DELAY_SECONDS, loadKeySet, MAX_TOKEN_TTL_SECONDS, retireKeys, rotateKeys } from '../../signing/keystore.js';
import { UsageError } from '../errors.js';
import { defineCommand, wholeNumber } from '../options.js';

/** `keygate keys list|rotate [--activate-in S]|retire [--max-token-ttl S]`: the signing keys in KEYS_FILE. */
export const keys = defineCommand({
  name: 'keys',
  flags: { 'max-token-ttl': { type: 'string' }, 'activate-in': { type: 'string' } },
  async run(config, { words: [action], values }) {
    // Both are checked whatever the action, as they always were.
    const maxTokenTtl = wholeNumber('--max-token-ttl', values['max-token-ttl'], MAX_TOKEN_TTL_SECONDS);
    const activateIn = wholeNumber('--activate-in', values['activate-in'], KEY_ACTIVATION_DELAY_SECONDS);
    if (action === 'list') {
      const keySet = await loadKeySet(config);
      for (const key of keySet.keys) {
        const signsFrom = new Date((key.signs_from ?? key.created_at) * 1000).toISOString();
        process.stdout.write(`${key.kid}  ${key.alg}  added ${new Date(key.created_at * 1000).toISOString()}  signs from ${signsFrom}\n`);
      }
    } else if (action === 'rotate') {
      const added = await rotateKeys(config, activateIn);
      const signsFrom = new Date((added.signs_from ?? added.created_at) * 1000).toISOString();
      process.stdout.write(`added ${added.alg} key ${added.kid}; published after the server restarts or gets SIGHUP, signing from ${signsFrom}. Old keys stay published.\n`);
    } else if (action === 'retire') {
      const retired = await retireKeys(config, maxTokenTtl);
      process.stdout.write(retired.length ? `retired: ${retired.map((key) => key.kid).join(', ')}\n` : 'no key is old enough to retire\n');
    } else {
      throw new UsageError('keys takes list, rotate or retire');
    }
  },
});

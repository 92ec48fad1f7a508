import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { startKeygate } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { OPERATOR, requestToken, TEST_ISSUER } from '../support/keygate.js';

describe('the embedded database', () => {
  it('keeps keypairs, first-start data and signing keys across a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keygate-restart-'));
    const config = loadConfig({ DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'keys', 'jwks.json'), LOG_LEVEL: 'silent', ISSUER: TEST_ISSUER }, dir);

    const first = await startKeygate(config);
    let client: { clientId: string; clientSecret: string };
    let kid: string | undefined;
    try {
      expect(first.db.embedded).toBe(true);
      expect(first.firstStart).toMatchObject({ operatorEmail: 'operator@localhost', resourceIdentifier: `${TEST_ISSUER}/api` });
      const created = await first.keypairs.createKeypair(OPERATOR, { owner: { environmentId: first.firstStart!.environmentId }, name: 'survivor', scopes: ['read'] });
      client = { clientId: created.keypair.clientId, clientSecret: created.clientSecret };
      const response = await requestToken(supertest(first.callback()), client);
      expect(response.status).toBe(200);
      kid = decodeProtectedHeader(response.body.access_token).kid;
    } finally {
      await first.close();
    }

    const second = await startKeygate(config);
    try {
      expect(second.firstStart).toBeUndefined();
      const response = await requestToken(supertest(second.callback()), client);
      expect(response.status).toBe(200);
      expect(response.body.scope).toBe('read');
      expect(decodeProtectedHeader(response.body.access_token).kid).toBe(kid);
      // The last-used time written on shutdown survived too.
      expect((await second.keypairs.getKeypair(client.clientId)).lastUsedAt).toBeInstanceOf(Date);
    } finally {
      await second.close();
    }
  });
});

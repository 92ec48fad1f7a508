import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage adapter, for a server that stores nothing through it.
 * Clients come from ClientCache (which replaces Client.find), and JWT access tokens
 * are self-contained: oidc-provider persists only opaque artifacts (codes, sessions,
 * refresh tokens) of flows Keygate does not enable. Lookups find nothing; a write
 * means a flow was enabled by mistake, so it fails loudly.
 */
export class StatelessAdapter implements Adapter {
  constructor(private readonly model: string) {}

  upsert(): Promise<undefined> {
    return Promise.reject(new Error(`Keygate stores no ${this.model} artifacts; a flow that needs them is enabled by mistake`));
  }
  find(): Promise<AdapterPayload | undefined> {
    return Promise.resolve(undefined);
  }
  findByUserCode(): Promise<AdapterPayload | undefined> {
    return Promise.resolve(undefined);
  }
  findByUid(): Promise<AdapterPayload | undefined> {
    return Promise.resolve(undefined);
  }
  consume(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  destroy(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  revokeByGrantId(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { NAMED_SCHEMAS } from '../../src/contract/index.js';
import { walk } from '../../src/contract/validate.js';

/** The request bodies of the contract: what the walker validates. */
const REQUEST_SCHEMAS = ['KeypairCreate', 'KeypairUpdate', 'KeypairRotate', 'NameInput', 'UserCreate', 'UserUpdate', 'ResourceServerCreate', 'ResourceServerUpdate', 'TrustedIssuerCreate', 'TrustedIssuerUpdate'];

describe('the schema walker', () => {
  it('validates every field of every request body (no keyword or union it cannot read)', () => {
    for (const name of REQUEST_SCHEMAS) {
      const schema = NAMED_SCHEMAS[name]!;
      const properties = Object.keys((schema as { properties: Record<string, unknown> }).properties);
      // A value of the wrong type in every field, and in every item of every list: the walk reaches every node.
      for (const wrong of [{}, 'x', 7.5, [{}], ['x'], [7.5]]) {
        expect(() => walk(schema, Object.fromEntries(properties.map((property) => [property, wrong]))), `${name} ${JSON.stringify(wrong)}`).not.toThrow();
      }
    }
  });

  it('refuses a union it would otherwise check against its first member alone', () => {
    const union = Type.Object({ either: Type.Union([Type.String(), Type.Integer({ minimum: 0, maximum: 1 })]) });
    expect(() => walk(union, { either: 1 })).toThrow(/needs a refinement that parses it/);
  });
});

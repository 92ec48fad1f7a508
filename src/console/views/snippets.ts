/**
 * Ready-to-paste code for a new secret: the token request in curl, Node, Python and Go,
 * and the resource server's check with @keygate/verifier. The client_id, token URL,
 * resource and issuer are filled in; the snippets read the secret from the
 * KEYGATE_CLIENT_SECRET environment variable rather than holding it, so that pasting
 * one into a source file does not commit the secret with it (the curl, run once by
 * hand, carries it as the page always did).
 */
export interface SnippetTarget {
  readonly clientId: string;
  readonly issuer: string;
  /** The resource server the token is for: its identifier is the tokens' `aud`. */
  readonly audience: string;
  /** Whether the request must name it (`resource`): not when it is the default resource server. */
  readonly namesResource: boolean;
  /** A scope granted there, for the verifier's example; undefined when none is. */
  readonly scope: string | undefined;
}

export const SECRET_VARIABLE = 'KEYGATE_CLIENT_SECRET';

const tokenUrl = (target: SnippetTarget) => `${target.issuer}/token`;
/** A JavaScript or Python string literal (JSON's quoting is valid in both, and in Go). */
const quote = (text: string) => JSON.stringify(text);

/**
 * One shell word: as it is when it holds nothing a shell reads specially, else in single
 * quotes. A resource identifier may hold a query (`?tenant=a&region=eu`), whose `&` would
 * otherwise send curl to the background and run the rest as another command.
 */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** ` --data-urlencode resource=…` when the request must name its resource server: encoded, as a URL's `&` and `=` would split a plain -d. */
const resourceArgument = (target: SnippetTarget) => (target.namesResource ? ` --data-urlencode ${shellWord(`resource=${target.audience}`)}` : '');

export function curlSnippet(target: SnippetTarget, clientSecret: string): string {
  return `curl -s -u "${target.clientId}:${clientSecret}" -d grant_type=client_credentials${resourceArgument(target)} ${shellWord(tokenUrl(target))}`;
}

export function nodeSnippet(target: SnippetTarget): string {
  const resource = target.namesResource ? `, resource: ${quote(target.audience)}` : '';
  return `// token.mjs (Node 18 or later: fetch is built in)
const clientId = ${quote(target.clientId)};
const clientSecret = process.env.${SECRET_VARIABLE};
const response = await fetch(${quote(tokenUrl(target))}, {
  method: 'POST',
  headers: { authorization: \`Basic \${Buffer.from(\`\${clientId}:\${clientSecret}\`).toString('base64')}\` },
  body: new URLSearchParams({ grant_type: 'client_credentials'${resource} }),
});
if (!response.ok) throw new Error(\`token request refused: \${response.status} \${await response.text()}\`);
const { access_token, expires_in } = await response.json();
// Send it as "Authorization: Bearer <access_token>"; fetch a new one before expires_in seconds pass.`;
}

export function pythonSnippet(target: SnippetTarget): string {
  const resource = target.namesResource ? `, "resource": ${quote(target.audience)}` : '';
  return `import os

import requests

response = requests.post(
    ${quote(tokenUrl(target))},
    auth=(${quote(target.clientId)}, os.environ["${SECRET_VARIABLE}"]),
    data={"grant_type": "client_credentials"${resource}},
    timeout=10,
)
response.raise_for_status()
access_token = response.json()["access_token"]`;
}

export function goSnippet(target: SnippetTarget): string {
  const fields: Array<[string, string]> = [
    ['ClientID', quote(target.clientId)],
    ['ClientSecret', `os.Getenv("${SECRET_VARIABLE}")`],
    ['TokenURL', quote(tokenUrl(target))],
  ];
  if (target.namesResource) fields.push(['EndpointParams', `url.Values{"resource": {${quote(target.audience)}}}`]);
  // Aligned as gofmt aligns a composite literal's keys.
  const width = Math.max(...fields.map(([key]) => key.length)) + 1;
  const imports = ['"context"', '"fmt"', ...(target.namesResource ? ['"net/url"'] : []), '"os"'];
  return `package main

import (
${imports.map((name) => `\t${name}`).join('\n')}

\t"golang.org/x/oauth2/clientcredentials"
)

func main() {
\tconfig := clientcredentials.Config{
${fields.map(([key, value]) => `\t\t${`${key}:`.padEnd(width)} ${value},`).join('\n')}
\t}
\t// config.Client(ctx) gives an *http.Client that fetches and renews the token itself.
\ttoken, err := config.Token(context.Background())
\tif err != nil {
\t\tpanic(err)
\t}
\tfmt.Println(token.AccessToken)
}`;
}

export function verifierSnippet(target: SnippetTarget): string {
  const scopes = target.scope === undefined ? '' : `, { scopes: [${quote(target.scope)}] }`;
  return `// The resource server: npm install @keygate/verifier (its README says how from a Keygate checkout)
import { createServer } from 'node:http';
import { authenticate, createVerifier } from '@keygate/verifier';

const verifier = createVerifier({
  issuer: ${quote(target.issuer)},
  audience: ${quote(target.audience)},
});

createServer(async (req, res) => {
  // Answers a missing, invalid or under-scoped token itself (RFC 6750) and resolves to undefined.
  const token = await authenticate(verifier, req, res${scopes});
  if (!token) return;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ hello: token.clientId }));
}).listen(4000);`;
}

/** The JWS algorithm a client signs with for its key: what the snippet passes to importPKCS8. */
export function algorithmOf(jwk: { kty: string; crv?: string }): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return jwk.crv === 'P-384' ? 'ES384' : 'ES256';
}

/** A token with private_key_jwt through openid-client, which signs each client assertion (README, "A key of the client's own"). */
export function privateKeyJwtSnippet(target: SnippetTarget, algorithm: string): string {
  const parameters = [...(target.scope ? [`scope: ${quote(target.scope)}`] : []), ...(target.namesResource ? [`resource: ${quote(target.audience)}`] : [])];
  const insecure = target.issuer.startsWith('http:') ? `, { execute: [client.allowInsecureRequests] }` : '';
  return `// token.mjs: npm install jose openid-client; client.pem is the private key whose public half is on this keypair
import { readFileSync } from 'node:fs';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';

const key = await importPKCS8(readFileSync('client.pem', 'utf8'), ${quote(algorithm)});
const config = await client.discovery(new URL(${quote(target.issuer)}), ${quote(target.clientId)}, undefined, client.PrivateKeyJwt(key)${insecure});
const { access_token, expires_in } = await client.clientCredentialsGrant(config, { ${parameters.join(', ')} });`;
}

/** A federated workload's token request: its platform token, read from a file, is the client assertion. */
export function federatedCurlSnippet(target: SnippetTarget): string {
  return `# /var/run/keygate/token: the platform's token for this workload (e.g. a projected Kubernetes service-account token)
curl -s ${shellWord(tokenUrl(target))} -d grant_type=client_credentials -d client_id=${target.clientId}${resourceArgument(target)} \\
  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
  --data-urlencode client_assertion@/var/run/keygate/token`;
}

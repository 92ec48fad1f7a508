/** Placeholder while the full document is written. */
export function openApiDocument(issuer: string): Record<string, unknown> {
  return { openapi: '3.1.0', info: { title: 'Keygate admin API', version: '1' }, servers: [{ url: `${issuer}/admin/v1` }], paths: {} };
}

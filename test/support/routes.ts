import Router from '@koa/router';

/**
 * The routes Keygate's routers answer, read from the routers themselves: while `start`
 * builds Keygate, every @koa/router router whose middleware gets mounted is noted (the
 * routers live inside the middleware closures, out of reach afterwards). A route added
 * in any file, by any router, shows up here without anyone listing it, so a test that
 * must cover every route can fail when one is not covered.
 */
export async function withRouteList<T>(start: () => Promise<T>): Promise<{ started: T; routesUnder(prefix: string): string[] }> {
  const routers = new Set<Router>();
  const middleware = Router.prototype.middleware;
  Router.prototype.middleware = function (this: Router) {
    routers.add(this);
    return middleware.call(this);
  };
  let started: T;
  try {
    started = await start();
  } finally {
    Router.prototype.middleware = middleware;
  }
  return {
    started,
    /** "METHOD /path/:param" for every route at or below `prefix` (HEAD, which GET implies, left out), sorted. */
    routesUnder(prefix: string): string[] {
      const routes = new Set<string>();
      for (const router of routers) {
        for (const layer of router.stack) {
          // Middleware mounted with router.use() has no methods: it is not a route.
          if (layer.methods.length === 0 || typeof layer.path !== 'string') continue;
          if (layer.path !== prefix && !layer.path.startsWith(`${prefix}/`)) continue;
          for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${layer.path}`);
        }
      }
      return [...routes].sort();
    },
  };
}

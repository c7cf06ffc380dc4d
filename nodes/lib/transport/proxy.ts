/** The process environment, or what a test gives in its place. */
export type Env = Record<string, string | undefined>;

/**
 * The proxy for a URL, as Node-RED's HTTP nodes choose it: `https_proxy` / `HTTPS_PROXY` for https, `http_proxy` /
 * `HTTP_PROXY` otherwise, unless `no_proxy` / `NO_PROXY` names the host (`*`, a name, `.domain`, optionally `:port`).
 */
export function proxyFor(url: URL, env: Env): URL | undefined {
  const raw =
    url.protocol === "https:"
      ? (env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY)
      : (env.http_proxy ?? env.HTTP_PROXY);
  if (!raw) return undefined;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const bypass = (env.no_proxy ?? env.NO_PROXY ?? "")
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === "*") return true;
      const [name, entryPort] = entry
        .toLowerCase()
        .replace(/^\*/, "")
        .split(/:(?=\d+$)/);
      if (entryPort && entryPort !== port) return false;
      const bare = name.replace(/^\./, "");
      return host === bare || host.endsWith(`.${bare}`);
    });
  if (bypass) return undefined;
  return new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
}

/**
 * The proxy for an SMTP server, by the HTTPS rule: plant gateways reach the Internet through one CONNECT proxy for
 * every transport, and `NO_PROXY` keeps a relay on the plant network direct.
 */
export function smtpProxyFor(host: string, port: number, env: Env): URL | undefined {
  return proxyFor(new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`), env);
}

import { BlockList, isIP } from "node:net";

/** The process environment, or what a test gives in its place. */
export type Env = Record<string, string | undefined>;

/**
 * The proxy for a URL, as Node-RED's HTTP nodes choose it: `https_proxy` / `HTTPS_PROXY` for https, `http_proxy` /
 * `HTTP_PROXY` otherwise, unless `no_proxy` / `NO_PROXY` names the host: `*`, a name, `.domain`, an IP address (IPv6
 * in brackets or bare) or an address range (`10.0.0.0/8`), each optionally with `:port`.
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
    .some((entry) => entry === "*" || bypasses(entry.toLowerCase(), host, port));
  if (bypass) return undefined;
  return new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
}

/** Whether one NO_PROXY entry names `host` (a name or an IP address, IPv6 without brackets) on `port`. */
function bypasses(entry: string, host: string, port: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  // A bare IPv6 address has colons of its own: only the bracketed form carries a port.
  const [name, entryPort] = bracketed
    ? [bracketed[1], bracketed[2]]
    : isIP(entry.split("/")[0]) === 6
      ? [entry, undefined]
      : entry.replace(/^\*/, "").split(/:(?=\d+$)/);
  if (entryPort && entryPort !== port) return false;
  const range = /^(.+)\/(\d{1,3})$/.exec(name);
  if (range && isIP(range[1]) && isIP(host)) {
    const family = isIP(range[1]) === 6 ? "ipv6" : "ipv4";
    if (isIP(host) !== isIP(range[1])) return false;
    const list = new BlockList();
    list.addSubnet(range[1], Number(range[2]), family);
    return list.check(host, family);
  }
  const bare = name.replace(/^\./, "");
  return host === bare || host.endsWith(`.${bare}`);
}

/**
 * The proxy for an SMTP server, by the HTTPS rule: plant gateways reach the Internet through one CONNECT proxy for
 * every transport, and `NO_PROXY` keeps a relay on the plant network direct.
 */
export function smtpProxyFor(host: string, port: number, env: Env): URL | undefined {
  return proxyFor(new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`), env);
}

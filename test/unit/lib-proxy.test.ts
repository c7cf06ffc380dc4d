import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proxyFor, smtpProxyFor } from "../../nodes/lib/transport/proxy";

const env = (noProxy: string) => ({ HTTPS_PROXY: "http://proxy.plant.example:3128", NO_PROXY: noProxy });
const direct = (url: string, noProxy: string) => proxyFor(new URL(url), env(noProxy)) === undefined;

describe("proxyFor: NO_PROXY as Node-RED's HTTP nodes read it, and addresses a plant relay has", () => {
  it("names, domains and ports", () => {
    assert.equal(direct("https://relay.plant.example:587/", ".plant.example"), true);
    assert.equal(direct("https://relay.plant.example:587/", "plant.example:587"), true);
    assert.equal(direct("https://relay.plant.example:587/", "plant.example:25"), false);
    assert.equal(direct("https://graph.microsoft.com/", "localhost,127.0.0.1"), false);
    assert.equal(direct("https://graph.microsoft.com/", "*"), true);
  });

  it("IPv6 addresses, bare or in brackets with a port", () => {
    assert.equal(direct("https://[::1]:587/", "::1"), true);
    assert.equal(direct("https://[::1]:587/", "[::1]:587"), true);
    assert.equal(direct("https://[::1]:587/", "[::1]:25"), false);
  });

  it("address ranges", () => {
    assert.equal(direct("https://10.1.2.3:587/", "10.0.0.0/8"), true);
    assert.equal(direct("https://11.1.2.3:587/", "10.0.0.0/8"), false);
    assert.equal(direct("https://[fd00::5]:587/", "fd00::/8"), true);
    assert.equal(direct("https://relay.plant.example:587/", "10.0.0.0/8"), false);
  });

  it("an SMTP server goes by the HTTPS proxy, and a relay in NO_PROXY stays direct", () => {
    assert.equal(smtpProxyFor("smtp.office365.com", 587, env(""))?.host, "proxy.plant.example:3128");
    assert.equal(smtpProxyFor("10.20.0.5", 25, env("10.0.0.0/8")), undefined);
    assert.equal(smtpProxyFor("10.20.0.5", 25, {}), undefined);
  });
});

// The OAuth2 part of the mail server's dialog, as window.AlarmMailServerOAuth: the providers it knows, the checks of
// the OAuth2 settings, and the OAuth2 tab (Sign in, the device code, the signed-in account). Node-RED serves this
// file from the module's resources/ folder; alarm-mail-server.html loads it with a <script src>, after
// alarm-mail-editor.js, and Node-RED runs that html's own script only once both have loaded.
(function () {
  "use strict";

  // The html is loaded again when the package is updated from the palette; the first copy stays.
  if (window.AlarmMailServerOAuth) {
    return;
  }

  var t = AlarmMailEditor.translator("alarm-mail-server");
  var isEnvVar = AlarmMailEditor.isEnvVar;
  var isEmpty = AlarmMailEditor.isEmpty;
  var OAUTH_FLOWS = ["authorization_code", "device_code", "client_credentials"];

  /** OAuth2 providers: the endpoints and scopes they need, and the SMTP side that goes with them. */
  var MICROSOFT_LOGIN = "https://login.microsoftonline.com/";
  var MICROSOFT_SMTP = { host: "smtp.office365.com", port: 587, security: "starttls" };
  /** Personal Microsoft accounts (Outlook.com, Hotmail) sign in on the "consumers" tenant and send through this host. */
  var OUTLOOK_SMTP = { host: "smtp-mail.outlook.com", port: 587, security: "starttls" };
  var GENERIC_TENANTS = ["organizations", "common", "consumers"];
  // The scope depends on the way the mails go: a token for SMTP is refused by Graph, and Google rates gmail.send
  // "sensitive" where full mail access (what SMTP needs) is "restricted".
  var OAUTH_PRESETS = {
    ms365: {
      flow: "device_code",
      scopes: {
        smtp: "https://outlook.office.com/SMTP.Send offline_access",
        graph: "https://graph.microsoft.com/Mail.Send offline_access",
      },
      smtp: MICROSOFT_SMTP,
    },
    "ms365-app": {
      flow: "client_credentials",
      scopes: { smtp: "https://outlook.office365.com/.default", graph: "https://graph.microsoft.com/.default" },
      smtp: MICROSOFT_SMTP,
    },
    gmail: {
      flow: "authorization_code",
      authorizeUrl: "https://accounts.google.com/o/oauth2/v2/auth",
      tokenUrl: "https://oauth2.googleapis.com/token",
      deviceUrl: "",
      scopes: { smtp: "https://mail.google.com/", gmail: "https://www.googleapis.com/auth/gmail.send" },
      smtp: { host: "smtp.gmail.com", port: 587, security: "starttls" },
    },
  };

  /** The way the mails go, as the dialog shows it while it is open, otherwise as the node stores it. */
  function currentTransport(node) {
    var transport = currentValue(node, "transport");
    return transport === "graph" || transport === "gmail" ? transport : "smtp";
  }
  /** The Microsoft token endpoint, with its tenant. */
  var MICROSOFT_TOKEN = /^https:\/\/login\.microsoftonline\.com\/([^/?#]+)\/oauth2\/v2\.0\/token$/i;

  function currentAuth(node) {
    var select = $("#node-config-input-auth");
    return select.length ? select.val() : node.auth;
  }

  /** A setting as the dialog shows it while it is open, otherwise as the node stores it. */
  function currentValue(node, field) {
    var input = $("#node-config-input-" + field);
    return input.length ? input.val() : node[field];
  }

  function currentFlow(node) {
    var flow = currentValue(node, "oauthFlow");
    return OAUTH_FLOWS.indexOf(flow) !== -1 ? flow : "authorization_code";
  }

  function isHttpUrl(value) {
    try {
      var url = new URL(String(value).trim());
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }

  /** The URLs of a Microsoft tenant ("organizations" when none is given). */
  function microsoftUrls(tenant) {
    var base = MICROSOFT_LOGIN + (String(tenant || "").trim() || "organizations") + "/oauth2/v2.0/";
    return { authorizeUrl: base + "authorize", tokenUrl: base + "token", deviceUrl: base + "devicecode" };
  }

  /**
   * An OAuth2 endpoint: an http(s) URL or an environment variable; empty unless the node logs in with OAuth2 and
   * the flow needs it (every flow needs the token endpoint).
   */
  function oauthUrl(neededBy) {
    return function (v, opt) {
      var needed = currentAuth(this) === "oauth2" && (neededBy === "*" || neededBy === currentFlow(this));
      if (isEmpty(v)) {
        return !needed || (opt ? t("validation.urlRequired") : false);
      }
      if (isEnvVar(v)) {
        return true;
      }
      if (!isHttpUrl(v)) {
        return opt ? t("validation.url") : false;
      }
      // Microsoft gives an app its own token only on the endpoint of its tenant, never on a shared one.
      var microsoft = MICROSOFT_TOKEN.exec(String(v).trim());
      if (
        neededBy === "*" &&
        microsoft &&
        currentFlow(this) === "client_credentials" &&
        GENERIC_TENANTS.indexOf(microsoft[1].toLowerCase()) !== -1
      ) {
        return opt ? t("validation.appTenant") : false;
      }
      return true;
    };
  }

  /** The open dialogs' OAuth2 timers, by node id (a backup server's dialog can open above this one). */
  var oauthSessions = new Map();

  function stopOAuthSession(id) {
    var session = oauthSessions.get(id);
    if (!session) {
      return;
    }
    session.stopped = true;
    session.timers.forEach(function (timer) {
      clearTimeout(timer);
      clearInterval(timer);
    });
    oauthSessions.delete(id);
  }

  /** The tenant: only used to build the Microsoft URLs, so a tenant id, a domain, or organizations / common / consumers. */
  function validTenant(v, opt) {
    if (!(isEmpty(v) || isEnvVar(v) || /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(String(v).trim()))) {
      return opt ? t("validation.tenant") : false;
    }
    var microsoft = MICROSOFT_TOKEN.exec(String(currentValue(this, "tokenUrl") || "").trim());
    var shared = isEmpty(v) || GENERIC_TENANTS.indexOf(String(v).trim().toLowerCase()) !== -1;
    if (microsoft && shared && currentAuth(this) === "oauth2" && currentFlow(this) === "client_credentials") {
      return opt ? t("validation.appTenant") : false;
    }
    return true;
  }

  function validFlow(v, opt) {
    return isEmpty(v) || isEnvVar(v) || OAUTH_FLOWS.indexOf(v) !== -1 || (opt ? t("validation.choice") : false);
  }

  function validClientId(v, opt) {
    return currentAuth(this) !== "oauth2" || !!(v && String(v).trim()) || (opt ? t("validation.clientId") : false);
  }

  /**
   * Sets up the OAuth2 tab of the open server dialog. The dialog lends what the tab shares with the rest of it:
   * node, tabs, readDialog(), showResult(state, text, row), errorText(result), httpErrorText(xhr, permission),
   * revalidate(fields) and useSmtp(smtp), which moves the SMTP side to a provider's. Returns what the dialog calls
   * when its login method or server preset changes: showTab(on), presetFromHost() and refresh(opening).
   */
  function prepare(dialog) {
    var node = dialog.node;
    // Timers of this dialog (sign-in polling, the device code countdown), stopped when it closes.
    stopOAuthSession(node.id);
    var session = { timers: new Map(), stopped: false };
    oauthSessions.set(node.id, session);
    var OAUTH_TAB = "alarm-mail-server-tab-oauth";
    var oauthPreset = $("#alarm-mail-server-oauth-preset");
    var tenant = $("#node-config-input-tenant");
    var oauthFlow = $("#node-config-input-oauthFlow");
    var authorizeUrl = $("#node-config-input-authorizeUrl");
    var tokenUrl = $("#node-config-input-tokenUrl");
    var deviceUrl = $("#node-config-input-deviceUrl");
    var scope = $("#node-config-input-scope");
    var oauthResult = $(".alarm-mail-server-oauth-result");
    var openLink = $("#alarm-mail-server-oauth-open");
    var devicePanel = $(".alarm-mail-server-device");
    var oauthBusy = false;
    /** The last sign-in state read from the runtime. */
    var lastSignIn = null;
    /** What the dialog waits for: { kind: "device", expiresAt } or { kind: "sign-in", since, until }. */
    var watch = null;
    /** Gateway clock minus browser clock (from the Date header), when they differ by more than a few seconds. */
    var clockOffset = 0;
    /** The provider sends the browser back here: the editor's own address, which must be registered. */
    var redirectUri = new URL("alarm-mail-server/oauth/callback", location.href.split("#")[0].replace(/[^/]*$/, ""))
      .href;
    $("#alarm-mail-server-oauth-redirect").val(redirectUri);

    function showOAuthTab(on) {
      if (on && !dialog.tabs.contains(OAUTH_TAB)) {
        dialog.tabs.addTab({ id: OAUTH_TAB, label: t("tab.oauth") }, 2);
      } else if (!on && dialog.tabs.contains(OAUTH_TAB)) {
        dialog.tabs.removeTab(OAUTH_TAB);
      }
    }

    function detectOAuthPreset() {
      var token = String(tokenUrl.val() || "").trim();
      var microsoft = MICROSOFT_TOKEN.exec(token);
      if (microsoft) {
        tenant.val(microsoft[1]);
        return oauthFlow.val() === "client_credentials" ? "ms365-app" : "ms365";
      }
      return token === OAUTH_PRESETS.gmail.tokenUrl ? "gmail" : "custom";
    }

    function isMicrosoftPreset(name) {
      return name === "ms365" || name === "ms365-app";
    }

    function setValue(input, value) {
      if (input.val() !== value) {
        input.val(value).trigger("change");
      }
    }

    /** Fills the endpoints and the scope of a provider, its flow unless kept, and its SMTP side unless kept. */
    function applyOAuthPreset(name, options) {
      var chosen = OAUTH_PRESETS[name];
      options = options || {};
      if (chosen) {
        var urls = chosen;
        if (isMicrosoftPreset(name)) {
          urls = microsoftUrls(tenant.val());
          if (name === "ms365-app") {
            urls = { authorizeUrl: "", tokenUrl: urls.tokenUrl, deviceUrl: "" };
          }
        }
        setValue(authorizeUrl, urls.authorizeUrl);
        setValue(tokenUrl, urls.tokenUrl);
        setValue(deviceUrl, urls.deviceUrl);
        setValue(scope, chosen.scopes[currentTransport(node)] || chosen.scopes.smtp);
        if (!options.keepFlow) {
          setValue(oauthFlow, chosen.flow);
        }
        if (!options.keepSmtp && currentTransport(node) === "smtp") {
          var smtp =
            isMicrosoftPreset(name) && String(tenant.val()).trim().toLowerCase() === "consumers"
              ? OUTLOOK_SMTP
              : chosen.smtp;
          dialog.useSmtp(smtp);
        }
      }
      showOAuthRows();
    }

    /** OAuth2 not set up yet: take the provider of the SMTP host, when it is a known one. */
    function oauthPresetFromHost() {
      if (oauthPreset.val() !== "custom" || !isEmpty(tokenUrl.val())) {
        return;
      }
      var host = String($("#node-config-input-host").val()).trim().toLowerCase();
      if (host === MICROSOFT_SMTP.host || host === OUTLOOK_SMTP.host) {
        tenant.val(host === OUTLOOK_SMTP.host ? "consumers" : tenant.val() || "organizations");
        oauthPreset.val("ms365");
        applyOAuthPreset("ms365", { keepSmtp: true });
      } else if (host === OAUTH_PRESETS.gmail.smtp.host) {
        oauthPreset.val("gmail");
        applyOAuthPreset("gmail", { keepSmtp: true });
      }
    }

    function showOAuthRows() {
      var name = oauthPreset.val();
      var flow = OAUTH_FLOWS.indexOf(oauthFlow.val()) !== -1 ? oauthFlow.val() : "authorization_code";
      $(".alarm-mail-server-oauth-tenant").toggle(isMicrosoftPreset(name));
      var tip = $(".alarm-mail-server-oauth-preset-tip");
      tip.find(".form-tips").text(t("tip.oauthPreset." + name));
      tip.show();
      $(".alarm-mail-server-oauth-flow-tip").text(t("tip.oauthFlow." + flow));
      OAUTH_FLOWS.forEach(function (each) {
        $(".alarm-mail-server-oauth-for-" + each).toggle(each === flow);
      });
      // A client-credentials app has no user and so no refresh token, and it cannot do without its secret.
      $(".alarm-mail-server-oauth-user-flow").toggle(flow !== "client_credentials");
      $("#node-config-input-clientSecret").attr(
        "placeholder",
        t(flow === "client_credentials" ? "placeholder.clientSecretRequired" : "placeholder.clientSecret"),
      );
      if (flow !== "device_code") {
        hideDevice();
      }
      renderSignIn(lastSignIn);
    }

    oauthPreset.on("change", function () {
      applyOAuthPreset(oauthPreset.val());
    });
    tenant.on("change", function () {
      var name = oauthPreset.val();
      if (isMicrosoftPreset(name)) {
        applyOAuthPreset(name, { keepFlow: true, keepSmtp: true });
        dialog.revalidate(["tokenUrl"]);
        // Personal accounts (tenant "consumers") send through Outlook.com's host, work accounts through Microsoft 365's.
        var host = $("#node-config-input-host");
        var current = String(host.val()).trim().toLowerCase();
        if (name === "ms365" && (current === MICROSOFT_SMTP.host || current === OUTLOOK_SMTP.host)) {
          setValue(
            host,
            String(tenant.val()).trim().toLowerCase() === "consumers" ? OUTLOOK_SMTP.host : MICROSOFT_SMTP.host,
          );
        }
      }
    });
    oauthFlow.on("change", function () {
      var flow = oauthFlow.val();
      var name = oauthPreset.val();
      // Microsoft's delegated and app-only set-ups differ in scope and endpoints, not only in the flow.
      if (isMicrosoftPreset(name) && (name === "ms365-app") !== (flow === "client_credentials")) {
        oauthPreset.val(flow === "client_credentials" ? "ms365-app" : "ms365");
        applyOAuthPreset(oauthPreset.val(), { keepFlow: true, keepSmtp: true });
      }
      showOAuthRows();
      dialog.revalidate(["authorizeUrl", "tokenUrl", "deviceUrl", "tenant"]);
    });

    oauthPreset.val(detectOAuthPreset());
    showOAuthRows();

    // -- Talking to the runtime --

    function noteClock(xhr, sentAt) {
      var header = xhr && xhr.getResponseHeader ? xhr.getResponseHeader("Date") : null;
      var gateway = header ? Date.parse(header) : NaN;
      if (!isNaN(gateway)) {
        var offset = gateway - (sentAt + Date.now()) / 2;
        // The header counts whole seconds: only a real difference (a gateway without a clock) counts.
        clockOffset = Math.abs(offset) > 5000 ? offset : 0;
      }
    }

    /** A time of the gateway's clock, in the browser's. */
    function browserTime(ms) {
      return ms - clockOffset;
    }

    function oauthUrlFor(action) {
      return "alarm-mail-server/" + encodeURIComponent(node.id) + "/oauth/" + action;
    }

    function oauthRequest(method, action, body, done) {
      var sentAt = Date.now();
      $.ajax({
        url: oauthUrlFor(action),
        type: method,
        contentType: body ? "application/json" : undefined,
        dataType: "json",
        cache: false,
        data: body ? JSON.stringify(body) : undefined,
      })
        .done(function (result, _status, xhr) {
          noteClock(xhr, sentAt);
          done(null, result || {});
        })
        .fail(function (xhr) {
          noteClock(xhr, sentAt);
          // An unknown or used sign-in link is a 400 with the usual { ok: false, code } answer.
          var answer = xhr.responseJSON;
          if (answer && answer.ok === false && answer.code) {
            done(null, answer);
          } else {
            done(xhr, {});
          }
        });
    }

    /** What Sign in and the device code send: the dialog's settings and secrets ("__PWRD__" when untouched). */
    function signInBody() {
      var settings = dialog.readDialog();
      return {
        config: settings.config,
        credentials: {
          user: settings.credentials.user,
          clientId: settings.credentials.clientId,
          clientSecret: settings.credentials.clientSecret,
          refreshToken: settings.credentials.refreshToken,
        },
      };
    }

    /** An error of the catalogue in the editor's language; the runtime's text when it needs parameters it did not send. */
    function oauthErrorText(result) {
      var text = dialog.errorText(result);
      return /__[A-Za-z]+__/.test(text) && result.message ? result.message : text;
    }

    function safeLink(value) {
      return isHttpUrl(value) ? String(value) : "";
    }

    function setOAuthBusy(on) {
      oauthBusy = on;
      $(".alarm-mail-server-oauth-action").prop("disabled", on);
    }

    function oauthShow(state, text) {
      dialog.showResult(state, text, oauthResult);
    }

    function clearTimer(name) {
      clearTimeout(session.timers.get(name));
      clearInterval(session.timers.get(name));
      session.timers.delete(name);
    }

    // -- The signed-in account --

    function statusLine(icon, colour, text) {
      $(".alarm-mail-server-oauth-status-icon")
        .attr("class", "fa fa-fw alarm-mail-server-oauth-status-icon " + icon)
        .css("color", colour || "");
      $(".alarm-mail-server-oauth-status-text").text(text);
    }

    function renderSignIn(signIn) {
      var flow = oauthFlow.val();
      var ok = "var(--red-ui-text-color-success, #4b8400)";
      var bad = "var(--red-ui-text-color-error, #c00)";
      if (flow === "client_credentials") {
        var token =
          signIn && signIn.state === "signed-in" && signIn.expiresAt > Date.now() + clockOffset
            ? " " + t("oauth.status.appToken", { time: AlarmMailEditor.shortTime(browserTime(signIn.expiresAt)) })
            : "";
        statusLine("fa-info-circle", "", t("oauth.status.clientCredentials") + token);
        return;
      }
      if (!signIn) {
        statusLine("fa-question-circle", "", t("oauth.status.unknown"));
        return;
      }
      if (signIn.state === "signed-in") {
        var who = signIn.account ? "signedIn" : "signedInNoAccount";
        var expired = !signIn.expiresAt || signIn.expiresAt <= Date.now() + clockOffset;
        var text = t("oauth.status." + who + (expired ? "Renew" : ""), {
          account: signIn.account || "",
          time: AlarmMailEditor.shortTime(browserTime(signIn.expiresAt)),
        });
        if (signIn.signedInAt) {
          text += "\n" + t("oauth.status.since", { time: AlarmMailEditor.fullTime(browserTime(signIn.signedInAt)) });
        }
        statusLine("fa-check-circle", ok, text);
      } else if (signIn.state === "sign-in-again") {
        var reason = String(signIn.reason || "");
        statusLine(
          "fa-exclamation-circle",
          bad,
          t("oauth.status.signInAgain", {
            reason: AlarmMailEditor.deliveryError({ code: reason.split(" ")[0], message: reason }),
          }),
        );
      } else {
        statusLine("fa-circle-o", "", t("oauth.status.signedOut"));
      }
    }

    /** Reads the sign-in state; on opening, also picks up a device code sign-in that is still running. */
    function refreshSignIn(opening) {
      if (session.stopped) {
        return;
      }
      if (!lastSignIn) {
        statusLine("fa-spinner fa-spin", "", t("oauth.status.loading"));
      }
      oauthRequest("GET", "status", null, function (xhr, result) {
        if (session.stopped) {
          return;
        }
        if (xhr) {
          statusLine(
            "fa-times",
            "var(--red-ui-text-color-error, #c00)",
            dialog.httpErrorText(xhr, "oauth.status.readPermission"),
          );
          return;
        }
        lastSignIn = result.signIn || null;
        renderSignIn(lastSignIn);
        var device = result.device;
        if (
          opening &&
          !watch &&
          device &&
          device.state === "pending" &&
          device.expiresAt > Date.now() + clockOffset &&
          oauthFlow.val() === "device_code"
        ) {
          showDevice(device);
          startWatch({ kind: "device", expiresAt: device.expiresAt });
        }
      });
    }

    $("#alarm-mail-server-oauth-refresh").on("click", function () {
      refreshSignIn();
    });

    // -- Waiting for a sign-in to complete, or for the person at the other device --

    function startWatch(what) {
      watch = what;
      clearTimer("poll");
      session.timers.set("poll", setTimeout(pollOnce, 2000));
    }

    function stopWatch() {
      watch = null;
      clearTimer("poll");
      clearTimer("countdown");
    }

    function pollOnce() {
      if (session.stopped || !watch) {
        return;
      }
      oauthRequest("GET", "status", null, function (xhr, result) {
        if (session.stopped || !watch) {
          return;
        }
        if (!xhr) {
          lastSignIn = result.signIn || null;
          renderSignIn(lastSignIn);
        }
        var now = Date.now() + clockOffset;
        if (watch.kind === "device") {
          var device = result.device;
          if (device && device.state === "signed-in") {
            stopWatch();
            hideDevice();
            oauthShow("ok", t("oauth.device.done"));
            return;
          }
          if (device && device.state === "failed") {
            stopWatch();
            hideDevice();
            oauthShow("failed", oauthErrorText({ code: device.code, params: device.params, message: device.message }));
            return;
          }
          // The runtime says so itself when the code expires; this is for when it cannot be reached.
          if (now > watch.expiresAt + 15000) {
            stopWatch();
            hideDevice();
            oauthShow("failed", dialog.errorText({ code: "oauth-device-expired" }));
            return;
          }
        } else if (watch.kind === "sign-in") {
          var signIn = result.signIn;
          if (signIn && signIn.state === "signed-in" && signIn.signedInAt !== watch.since) {
            stopWatch();
            openLink.hide();
            oauthShow("ok", t("oauth.signIn.done"));
            return;
          }
          if (Date.now() > watch.until) {
            stopWatch();
            oauthShow("failed", t("oauth.signIn.timedOut"));
            return;
          }
        }
        session.timers.set("poll", setTimeout(pollOnce, 2000));
      });
    }

    // -- Sign in: the authorization code flow --

    $("#alarm-mail-server-oauth-signin").on("click", function () {
      if (oauthBusy) {
        return;
      }
      stopWatch();
      hideDevice();
      openLink.hide();
      // Open the window now, while the click still allows it; it goes to the provider once its address is known.
      var win = window.open("", "_blank");
      if (win) {
        try {
          win.opener = null;
          win.document.title = t("oauth.signIn.opening");
          win.document.body.textContent = t("oauth.signIn.opening");
        } catch {
          // A browser that does not let us write into it still lets us send it on.
        }
      }
      setOAuthBusy(true);
      oauthShow("running", t("oauth.signIn.starting"));
      var body = signInBody();
      body.redirectUri = redirectUri;
      oauthRequest("POST", "authorize", body, function (xhr, result) {
        setOAuthBusy(false);
        var url = !xhr && result.ok ? safeLink(result.url) : "";
        if (!url) {
          if (win) {
            win.close();
          }
          oauthShow("failed", xhr ? dialog.httpErrorText(xhr, "result.signInPermission") : oauthErrorText(result));
          return;
        }
        openLink.attr("href", url);
        if (win && !win.closed) {
          win.location.href = url;
          oauthShow("running", t("oauth.signIn.opened"));
        } else {
          openLink.show();
          oauthShow("running", t("oauth.signIn.blocked"));
        }
        startWatch({ kind: "sign-in", since: lastSignIn && lastSignIn.signedInAt, until: Date.now() + 10 * 60000 });
      });
    });
    openLink.on("click", function () {
      oauthShow("running", t("oauth.signIn.opened"));
    });

    function finishPasted() {
      var pasted = String($("#alarm-mail-server-oauth-pasted").val()).trim();
      if (!pasted) {
        oauthShow("failed", t("validation.pasted"));
        $("#alarm-mail-server-oauth-pasted").trigger("focus");
        return;
      }
      if (oauthBusy) {
        return;
      }
      setOAuthBusy(true);
      oauthShow("running", t("oauth.signIn.finishing"));
      oauthRequest("POST", "callback", { url: pasted }, function (xhr, result) {
        setOAuthBusy(false);
        if (!xhr && result.ok) {
          stopWatch();
          openLink.hide();
          $("#alarm-mail-server-oauth-pasted").val("");
          oauthShow("ok", result.message || t("oauth.signIn.done"));
          refreshSignIn();
        } else {
          oauthShow("failed", xhr ? dialog.httpErrorText(xhr, "result.signInPermission") : oauthErrorText(result));
        }
      });
    }
    $("#alarm-mail-server-oauth-finish").on("click", finishPasted);
    $("#alarm-mail-server-oauth-pasted").on("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        finishPasted();
      }
    });

    // -- The device code: for a gateway without a browser --

    function showDevice(device) {
      devicePanel.find(".alarm-mail-server-device-code").text(String(device.userCode || ""));
      var verify = safeLink(device.verificationUri);
      devicePanel
        .find(".alarm-mail-server-device-link")
        .attr("href", verify || "#")
        .text(verify);
      var complete = safeLink(device.verificationUriComplete);
      var completeRow = devicePanel.find(".alarm-mail-server-device-complete").toggle(!!complete);
      completeRow
        .find("a")
        .attr("href", complete || "#")
        .text(complete);
      devicePanel.show();
      clearTimer("countdown");
      function tick() {
        var left = Math.max(0, Math.round((device.expiresAt - Date.now() - clockOffset) / 1000));
        var minutes = Math.floor(left / 60);
        var seconds = left % 60;
        devicePanel
          .find(".alarm-mail-server-device-time")
          .text(
            left > 0
              ? t("oauth.device.timeLeft", { time: minutes + ":" + (seconds < 10 ? "0" : "") + seconds })
              : t("oauth.device.timeUp"),
          );
      }
      tick();
      session.timers.set("countdown", setInterval(tick, 1000));
      oauthShow("running", t("oauth.device.waiting"));
    }

    function hideDevice() {
      devicePanel.hide();
      clearTimer("countdown");
      if (watch && watch.kind === "device") {
        stopWatch();
      }
    }

    $("#alarm-mail-server-oauth-device").on("click", function () {
      if (oauthBusy) {
        return;
      }
      stopWatch();
      hideDevice();
      openLink.hide();
      setOAuthBusy(true);
      oauthShow("running", t("oauth.device.starting"));
      oauthRequest("POST", "device", signInBody(), function (xhr, result) {
        setOAuthBusy(false);
        if (xhr || !result.ok) {
          oauthShow("failed", xhr ? dialog.httpErrorText(xhr, "result.signInPermission") : oauthErrorText(result));
          return;
        }
        showDevice(result);
        startWatch({ kind: "device", expiresAt: result.expiresAt });
      });
    });

    // -- Copying the code and the redirect address --

    function copyText(text) {
      function copied(ok) {
        RED.notify(t(ok ? "oauth.copied" : "oauth.copyFailed"), { type: ok ? "success" : "warning", timeout: 2000 });
      }
      function fallback() {
        // The clipboard API needs https or localhost; a gateway's editor is often plain http.
        var area = $("<textarea></textarea>")
          .val(text)
          .css({ position: "fixed", top: 0, left: 0, opacity: 0 })
          .appendTo(document.body);
        area[0].select();
        var ok = false;
        try {
          ok = document.execCommand("copy");
        } catch {
          ok = false;
        }
        area.remove();
        return ok;
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () {
            copied(true);
          },
          function () {
            copied(fallback());
          },
        );
      } else {
        copied(fallback());
      }
    }
    $("#alarm-mail-server-oauth-redirect-copy").on("click", function () {
      copyText(redirectUri);
    });
    $("#alarm-mail-server-device-copy").on("click", function () {
      copyText(devicePanel.find(".alarm-mail-server-device-code").text());
    });

    /** Another way for the mails: the provider's scope for it, and the provider itself for Graph or Gmail. */
    function transportChanged(transport) {
      var before = oauthPreset.val();
      if (transport === "graph" && !isMicrosoftPreset(oauthPreset.val())) {
        tenant.val(tenant.val() || "organizations");
        oauthPreset.val("ms365-app");
      } else if (transport === "gmail") {
        oauthPreset.val("gmail");
      }
      applyOAuthPreset(oauthPreset.val(), { keepFlow: oauthPreset.val() === before, keepSmtp: true });
    }

    return {
      showTab: showOAuthTab,
      presetFromHost: oauthPresetFromHost,
      refresh: refreshSignIn,
      transportChanged: transportChanged,
    };
  }

  window.AlarmMailServerOAuth = {
    currentAuth: currentAuth,
    currentTransport: currentTransport,
    validUrl: oauthUrl,
    validTenant: validTenant,
    validFlow: validFlow,
    validClientId: validClientId,
    prepare: prepare,
    stop: stopOAuthSession,
  };
})();

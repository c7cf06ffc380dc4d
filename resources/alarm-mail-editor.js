// Editor helpers the package's node dialogs share, as window.AlarmMailEditor. Node-RED serves this file from the
// module's resources/ folder; each node's html loads it with a <script src> tag, and Node-RED runs that html's own
// scripts only once this file has loaded, so the helpers are there when the node registers its type.
(function () {
  "use strict";

  // Each html file loads this script again; the first copy stays, so that every node holds the same functions.
  if (window.AlarmMailEditor) {
    return;
  }

  var PACKAGE = "@alarm-mail/node-red";
  /** The runtime's error texts, by code: in the server node's catalogue, which the outbox sidebar reads too. */
  var SERVER_ERRORS = PACKAGE + "/alarm-mail-server:errors.";
  // The same address pattern as the runtime's (nodes/lib/mail/AddressList.ts), so the dialog marks what sending would refuse.
  var LOCAL = '[^\\s@<>()\\[\\],;:"\\\\]+';
  var DOMAIN = '(?:[^\\s@<>()\\[\\],;:"\\\\.]+\\.)+[^\\s@<>()\\[\\],;:"\\\\.]{2,}';
  // A single-label host (localhost, an intranet relay) is a valid domain on a plant network.
  var HOST = '[^\\s@<>()\\[\\],;:"\\\\.]+';
  var ADDRESS = new RegExp("^" + LOCAL + "@(?:" + DOMAIN + "|" + HOST + "|\\[[0-9a-fA-F:.]+\\])$");

  /** t(key, params) for a node type's own catalogue: each node's keys sit under its type, in its own namespace. */
  function translator(type) {
    var prefix = PACKAGE + "/" + type + ":" + type + ".";
    return function (key, params) {
      return RED._(prefix + key, params);
    };
  }

  /** Node-RED replaces a property that is exactly "${NAME}" with that environment variable before the node starts. */
  function isEnvVar(value) {
    return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(String(value).trim());
  }

  function isEmpty(value) {
    return value === undefined || value === null || String(value).trim() === "";
  }

  /** A whole number from least to most; empty takes the default. The runtime checks the same ranges. */
  function wholeIn(least, most, key, t) {
    return function (v, opt) {
      var text = String(v === undefined || v === null ? "" : v).trim();
      var ok = isEmpty(v) || isEnvVar(v) || (/^\d+$/.test(text) && Number(text) >= least && Number(text) <= most);
      return ok || (opt ? t("validation." + key) : false);
    };
  }

  /** A bare address, without a display name; each node decides how names and lists around it are written. */
  function isAddress(address) {
    return ADDRESS.test(address);
  }

  /**
   * The palette, style and port labels read from a node type's catalogue (paletteLabel, port.input, port.output); a
   * config node has no ports and takes the palette label only. They go through this._, which Node-RED gives the
   * node's definition, so they read the same catalogue as the node's own label function.
   */
  function labels(type) {
    return {
      paletteLabel: function () {
        return this._(type + ".paletteLabel");
      },
      labelStyle: function () {
        return this.name ? "node_label_italic" : "";
      },
      inputLabels: function () {
        return this._(type + ".port.input");
      },
      outputLabels: function () {
        return this._(type + ".port.output");
      },
    };
  }

  /** A moment as the sidebar and the sign-in state show it: the time alone when it is today. */
  function shortTime(ms) {
    if (!ms) {
      return "";
    }
    var date = new Date(ms);
    return date.toDateString() === new Date().toDateString()
      ? date.toLocaleTimeString()
      : date.toLocaleDateString() + " " + date.toLocaleTimeString();
  }

  function fullTime(ms) {
    return ms ? new Date(ms).toLocaleString() : "";
  }

  /**
   * The parameters of a runtime error message, "code (host=smtp.example, port=587, response=550 …)". An "error"
   * parameter (outbox-expired) holds a whole nested message, so it takes the rest of the text.
   */
  function errorParams(text) {
    var params = {};
    var marks = [];
    var re = /(?:^|, )([A-Za-z][A-Za-z0-9_]*)=/g;
    var match;
    while ((match = re.exec(text))) {
      marks.push({ name: match[1], start: match.index, value: re.lastIndex });
      if (match[1] === "error") {
        break;
      }
    }
    marks.forEach(function (mark, i) {
      var end = mark.name === "error" || i === marks.length - 1 ? text.length : marks[i + 1].start;
      params[mark.name] = text.slice(mark.value, end);
    });
    return params;
  }

  /**
   * A delivery error ({ code, message }) in the editor's language, from the server node's catalogue, which the
   * runtime uses too. It is read when shown, so the catalogue may load after this script.
   */
  function deliveryError(error) {
    if (!error) {
      return "";
    }
    var code = String(error.code || "");
    var message = String(error.message || "");
    var head = code + " (";
    var params = null;
    if (code && message === code) {
      params = {};
    } else if (code && message.indexOf(head) === 0 && message.charAt(message.length - 1) === ")") {
      params = errorParams(message.slice(head.length, -1));
    }
    if (params === null) {
      return message || code;
    }
    if (params.error) {
      params.error = deliveryError({ code: params.error.split(" ")[0], message: params.error });
    }
    var key = SERVER_ERRORS + code;
    var text = RED._(key, params);
    return !text || text === key || text === "errors." + code ? message || code : text;
  }

  /**
   * Node-RED opens a dialog as wide as its content is then (500 px at least). A row's content is as wide as it is
   * unwrapped (a select as its longest choice, a checkbox's label as its whole sentence) before percentage widths and
   * wrapping apply, so a long text in one language opened the whole dialog wider than Node-RED's default. Contained,
   * rows and selects take the dialog's width and never set it. Called from oneditprepare with any field of the dialog.
   */
  function fitDefaultWidth(field) {
    $(field).closest("form").find(".form-row, select").css("contain", "inline-size");
  }

  /**
   * Sets a new node's property to the only node of that type (a config node, or a node on a flow such as a block),
   * when there is exactly one: a person with one server does not have to choose it from a list that starts at "none".
   */
  function onlyNode(node, property, type) {
    if (node[property]) {
      return;
    }
    var found = RED.nodes.filterNodes({ type: type }).map(function (other) {
      return other.id;
    });
    RED.nodes.eachConfig(function (config) {
      if (config.type === type) {
        found.push(config.id);
      }
    });
    if (found.length === 1) {
      node[property] = found[0];
      // The editor checked the node before onadd: checked again, it is drawn without the "not configured" mark.
      RED.editor.validateNode(node);
    }
  }

  /**
   * What the runtime takes for a property a node leaves out (imported from a flow written by hand), shown in the
   * dialog, called from oneditprepare: each select of `choices` left empty shows its default, and each input of
   * `numbers` its default as placeholder, since an empty number takes the default.
   */
  function showDefaults(node, choices, numbers) {
    var defaults = node._def.defaults;
    choices.forEach(function (name) {
      var select = $("#node-input-" + name);
      if (!select.val()) {
        select.val(defaults[name].value);
      }
    });
    numbers.forEach(function (name) {
      $("#node-input-" + name).attr("placeholder", String(defaults[name].value));
    });
  }

  var RESULT_ICONS = { running: "fa-spinner fa-spin", ok: "fa-check", failed: "fa-times" };
  var RESULT_COLOURS = {
    ok: "var(--red-ui-text-color-success, #4b8400)",
    failed: "var(--red-ui-text-color-error, #c00)",
  };

  /**
   * What a dialog's checks on the runtime share (Test connection of the server and the inbox, Send test mail): the
   * result row `.<type>-result` under the buttons, with its `.<type>-result-icon` and `.<type>-result-text`; the
   * runtime's error in the editor's language, from the node's catalogue by its code (its own words when the code has
   * none there); and `run`, which posts a body to the node's admin route `<type>/<node id>/<action>`, one check at a
   * time, with the dialog's check `buttons` disabled meanwhile. `httpErrorText(xhr)` says a request the route refused.
   */
  function dialogChecks(type, options) {
    var errors = PACKAGE + "/" + type + ":errors.";
    var busy = false;

    /** A check's state in the result row, or in another row of the same shape (the server's OAuth2 tab has one). */
    function showResult(state, text, row) {
      row = row || $("." + type + "-result");
      var icon = row.find("." + type + "-result-icon").removeClass("fa-spinner fa-spin fa-check fa-times");
      icon.addClass(RESULT_ICONS[state]);
      icon.css("color", RESULT_COLOURS[state] || "");
      row.find("." + type + "-result-text").text(text);
      row.show();
    }

    function errorText(result) {
      var key = errors + result.code;
      var text = result.code ? RED._(key, result.params || {}) : "";
      return !text || text === key || text === "errors." + result.code ? result.message || result.code : text;
    }

    /** Posts `body` for `action`, showing `runningText` meanwhile, then `successText(result)` or what went wrong. */
    function run(nodeId, action, body, runningText, successText) {
      if (busy) {
        return;
      }
      busy = true;
      $(options.buttons).prop("disabled", true);
      showResult("running", runningText);
      $.ajax({
        url: type + "/" + encodeURIComponent(nodeId) + "/" + action,
        type: "POST",
        contentType: "application/json",
        dataType: "json",
        data: JSON.stringify(body),
      })
        .done(function (result) {
          if (result && result.ok) {
            showResult("ok", successText(result));
          } else {
            showResult("failed", errorText(result || {}));
          }
        })
        .fail(function (xhr) {
          showResult("failed", options.httpErrorText(xhr));
        })
        .always(function () {
          busy = false;
          $(options.buttons).prop("disabled", false);
        });
    }

    return { showResult: showResult, errorText: errorText, run: run };
  }

  window.AlarmMailEditor = {
    dialogChecks: dialogChecks,
    showDefaults: showDefaults,
    onlyNode: onlyNode,
    fitDefaultWidth: fitDefaultWidth,
    translator: translator,
    isEnvVar: isEnvVar,
    isEmpty: isEmpty,
    wholeIn: wholeIn,
    isAddress: isAddress,
    labels: labels,
    shortTime: shortTime,
    fullTime: fullTime,
    deliveryError: deliveryError,
  };
})();

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
  // The same address pattern as the runtime's (nodes/lib/AddressList.ts), so the dialog marks what sending would refuse.
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

  window.AlarmMailEditor = {
    translator: translator,
    isEnvVar: isEnvVar,
    isEmpty: isEmpty,
    wholeIn: wholeIn,
    isAddress: isAddress,
    labels: labels,
  };
})();

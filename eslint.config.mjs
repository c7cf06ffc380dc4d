import js from "@eslint/js";
import html from "eslint-plugin-html";
import tseslint from "typescript-eslint";

/**
 * What the Node-RED editor gives the package's editor code: its API (RED), jQuery, the browser, and the helpers that
 * resources/ puts on window. Listed one by one so that a typo or a Node.js global is still caught.
 */
const EDITOR_GLOBALS = {
  RED: "readonly",
  $: "readonly",
  window: "readonly",
  document: "readonly",
  location: "readonly",
  navigator: "readonly",
  MutationObserver: "readonly",
  FileReader: "readonly",
  Blob: "readonly",
  setInterval: "readonly",
  clearInterval: "readonly",
  AlarmMailEditor: "readonly",
  AlarmMailServerOAuth: "readonly",
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".dev/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      // Destructuring a field away to keep the rest is how we drop properties; the dropped name is not "unused".
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, argsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    files: ["scripts/**", "bench/**", "test/**"],
    rules: { "no-console": "off" },
  },
  {
    // The editor's own code: the scripts of each node's and plugin's .html (eslint-plugin-html lints the
    // text/javascript ones and leaves the text/html templates and help alone), and the shared scripts in resources/,
    // which the editor loads with a plain <script src>. Neither is a module.
    files: ["nodes/**/*.html", "resources/**/*.js"],
    plugins: { html },
    languageOptions: {
      sourceType: "script",
      globals: EDITOR_GLOBALS,
    },
    rules: {
      // Node-RED calls a dialog's functions with the node as `this`, and jQuery its handlers with an element: the
      // dialog code keeps the node as `node` for the handlers it sets up, and only under that name.
      "@typescript-eslint/no-this-alias": ["error", { allowedNames: ["node"] }],
    },
  },
);

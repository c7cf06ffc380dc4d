import type { NodeAPI } from "node-red";

/**
 * The outbox sidebar, an editor plugin: its tab and code are in alarm-mail-outbox.html beside this file. The runtime
 * side only registers the plugin, so that the palette manager lists it with the package; the admin endpoints the tab
 * reads belong to the server node (nodes/red/OutboxEndpoints.ts), which owns the outboxes.
 */
export = function register(RED: NodeAPI): void {
  // Node-RED groups plugins by type (themes, library sources...); this one is the package's only sidebar tab.
  RED.plugins.registerPlugin("alarm-mail-outbox", { type: "alarm-mail-sidebar" });
};

import type { NodeStatus } from "node-red";
// Node-RED's own WebSocket library (Node 20 has no WebSocket client): the editor's comms, as the browser speaks them.
import WebSocket from "ws";

/**
 * The statuses the editor would show under each node, heard as the editor hears them: over Node-RED's comms
 * WebSocket, subscribed to `status/#`. Node-RED replays the last status of every node to a new subscriber, so a
 * status a node showed while it started is heard too.
 */
export class EditorStatuses {
  private readonly last = new Map<string, NodeStatus>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: WebSocket.RawData) => {
      const frames = JSON.parse(String(data)) as Array<{ topic: string; data: NodeStatus }>;
      for (const frame of Array.isArray(frames) ? frames : [frames]) {
        if (frame.topic.startsWith("status/")) this.last.set(frame.topic.slice("status/".length), frame.data);
      }
    });
  }

  static async open(url: string): Promise<EditorStatuses> {
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}/comms`);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    socket.send(JSON.stringify({ subscribe: "status/#" }));
    return new EditorStatuses(socket);
  }

  /** The last status node `id` showed, as Node-RED sent it (a catalogue key is translated by the editor). */
  of(id: string): NodeStatus | undefined {
    return this.last.get(id);
  }

  close(): void {
    this.socket.close();
  }
}

import { connect } from "node:net";

/**
 * Whether something takes a TCP connection at `host:port` within `timeoutMs`: how an outage is watched, every second
 * at most, without a login, a request or a mail. The connection is closed at once.
 */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const end = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(timeoutMs, () => end(false));
    socket.once("connect", () => end(true));
    socket.once("error", () => end(false));
  });
}

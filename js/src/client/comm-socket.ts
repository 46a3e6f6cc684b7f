/**
 * The kernel comm as a WebSocket: the fallback transport where no graphlive server extension is
 * reachable (VS Code, Colab, a plain kernel). The kernel side (graphlive.comm_transport) plays
 * the server of docs/protocol.md over the widget's comm, so the same {@link EventsConnection},
 * channels and resume logic run unchanged on top of it.
 *
 * Messages: the page sends `{type: "graphlive-client", message: <client frame>}`; the kernel
 * sends `{type: "graphlive-frames", frames: [<server frame>, ...]}` (several frames per comm
 * message, since each comm message costs a kernel round of serialisation).
 */

import type { SocketLike } from "./connection.js";

export const CLIENT_MESSAGE = "graphlive-client";
export const SERVER_FRAMES = "graphlive-frames";

/** What the widget model offers: custom messages to and from the kernel. */
export interface CommEndpoint {
  /** Identifies the kernel-side object; one connection per key and page. */
  readonly key: string;
  send(message: Record<string, unknown>): void;
  /** Listen to custom messages from the kernel; returns the remover. */
  onMessage(listener: (message: unknown) => void): () => void;
}

const OPEN = 1;
const CLOSED = 3;

export class CommSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private readonly remove: () => void;

  constructor(private readonly endpoint: CommEndpoint) {
    this.remove = endpoint.onMessage((message) => this.receive(message));
    // Open on the next task, like a WebSocket, so handlers can be attached first.
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = OPEN;
      this.onopen?.({});
    }, 0);
  }

  send(data: string): void {
    if (this.readyState !== OPEN) return;
    this.endpoint.send({ type: CLIENT_MESSAGE, message: JSON.parse(data) as unknown });
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.remove();
    this.onclose?.({ code, reason });
  }

  private receive(message: unknown): void {
    if (this.readyState !== OPEN || typeof message !== "object" || message === null) return;
    const m = message as { type?: unknown; frames?: unknown };
    if (m.type !== SERVER_FRAMES || !Array.isArray(m.frames)) return;
    // Frames arrive as objects: no JSON text round trip for big snapshots.
    for (const frame of m.frames) this.onmessage?.({ data: frame });
  }
}

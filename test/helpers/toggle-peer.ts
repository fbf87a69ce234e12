// A real loopback HTTP peer for probe tests: answers every request 200 "ok" until the
// test sets `failing`, then 503. Closed when the test ends.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TogglePeer {
  port: number;
  /** When true, every request is answered 503. */
  failing: boolean;
}

export async function startTogglePeer(t: { after(fn: () => void): void }): Promise<TogglePeer> {
  const peer: TogglePeer = { port: 0, failing: false };
  const server = createServer((_req, res) => res.writeHead(peer.failing ? 503 : 200).end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  peer.port = (server.address() as AddressInfo).port;
  return peer;
}

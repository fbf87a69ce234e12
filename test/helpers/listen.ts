// A plain loopback HTTP server for tests that serve a handler of their own (a Monitor's
// handler, a target peer, a mesh member): listen() on 127.0.0.1, closeServer() dropping
// open connections so that the test exits by itself.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Serves `handler` on 127.0.0.1:`port` (0: a free one). */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Closes `s` and its open connections. */
export const closeServer = (s: Server): Promise<void> =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

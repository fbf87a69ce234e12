// GET /v1/events/stream: Server-Sent Events of new journal entries.
// A client may resume with `Last-Event-ID` (or `?after=SEQ`): missed entries are
// replayed first, then live ones follow, each exactly once and in seq order.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { JournalEntry } from "../store/types.js";
import type { ApiBackend } from "./backend.js";
import { HttpError } from "./http-error.js";

/** Most entries replayed on resume; older ones are fetched with GET /v1/events. */
const REPLAY_LIMIT = 1000;

interface Client {
  res: ServerResponse;
  close(): void;
}

export class SseHub {
  private readonly clients = new Set<Client>();

  constructor(
    private readonly backend: ApiBackend,
    /** Comment line sent this often so proxies and clients see the stream alive, ms. */
    private readonly heartbeatMs: number,
    /** Most concurrent streams; more → 503. */
    private readonly maxClients: number,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  open(req: IncomingMessage, res: ServerResponse, after: number | undefined): void {
    if (this.clients.size >= this.maxClients) {
      throw new HttpError(
        503,
        "WDM_UNAVAILABLE",
        `too many event streams open (max ${this.maxClients}); close one and retry`,
        {
          "Retry-After": "5",
        },
      );
    }
    let lastSeq = after ?? -1;
    const pending: JournalEntry[] = [];
    let replaying = after !== undefined;
    const write = (e: JournalEntry): void => {
      if (e.seq <= lastSeq) return;
      lastSeq = e.seq;
      res.write(`id: ${e.seq}\nevent: escalation\ndata: ${JSON.stringify(e)}\n\n`);
    };
    // Subscribe before replaying so nothing appended in between is lost.
    const unsubscribe = this.backend.onEvent((e) => {
      try {
        if (replaying) pending.push(e);
        else write(e);
      } catch {
        client.close();
      }
    });
    const timer = setInterval(() => {
      res.write(": keep-alive\n\n");
    }, this.heartbeatMs);
    timer.unref();
    let closed = false;
    const client: Client = {
      res,
      close: () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        unsubscribe();
        this.clients.delete(client);
        if (!res.writableEnded) res.end();
      },
    };
    this.clients.add(client);
    req.on("close", client.close);
    res.on("close", client.close);
    res.on("error", client.close);

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    res.write(`retry: 3000\n: connected\n\n`);
    if (after !== undefined) {
      try {
        for (const e of this.backend.events(after, REPLAY_LIMIT)) write(e);
        for (const e of pending) write(e);
      } finally {
        replaying = false;
        pending.length = 0;
      }
    }
  }

  /** Ends every stream (server stop). */
  closeAll(): void {
    for (const c of [...this.clients]) c.close();
  }
}

// The asking side of a streamed view (view-stream.ts): one GET on a socket of its own, kept
// open, its body read line by line. One deadline covers connect, headers and the first line
// (or the whole answer, when the member answers one view instead of a stream); after that
// the stream has no deadline here: the poller notices a stream gone quiet at its rounds.
// A line longer than `maxLineBytes` cuts the stream, so a member sending a gigabyte costs
// one line's worth.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { ProbeCause } from "../core/types.js";
import { describeNetError, localCause, timeoutError, type HttpPhase } from "../probe/errors.js";
import { getOptions, type HttpTarget } from "../probe/http.js";
import { parseStreamLine, VIEW_STREAM_CONTENT_TYPE } from "./view-stream.js";

/** How a stream's request ended (once; nothing is reported after it). */
export interface StreamEnd {
  error: string;
  /** This node's own trouble (a syscall of its own failed): says nothing about the member. */
  cause?: ProbeCause;
  /** The refusal's Date header (the member's clock). */
  date?: string;
  /** Lines the stream carried before the end (0: the request failed, or no line came). */
  lines: number;
  /** The member answered 200 with a stream's content type. */
  answered: boolean;
}

export interface ViewStreamHandlers {
  /** One line of the stream; an error string cuts the stream (it ends with that error). */
  line(proof: string, body: Buffer): string | undefined;
  /** The member answered one view instead of a stream (an older node, a fetch-style host). */
  single(body: Buffer, proof: string | undefined): void;
  /** The request failed or the stream ended. */
  end(out: StreamEnd): void;
}

export interface ViewStreamOptions {
  /** Deadline of connect + headers + the first line (or the single answer), ms. */
  timeoutMs: number;
  /** Longest line (or single answer) accepted, bytes. */
  maxLineBytes: number;
  /** Lower-case name of the header carrying a single answer's proof. */
  proofHeader: string;
}

let https: Promise<typeof import("node:https")> | undefined;

/** One open view stream to one member. */
export class ViewStream {
  private req: ClientRequest | null = null;
  private phase: HttpPhase = "connect";
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  private lines = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private status = 0;
  private answered = false;
  private date: string | undefined;
  /** Resolves once the first line, the single answer or the failure has been handled. */
  readonly first: Promise<void>;
  private firstDone!: () => void;

  constructor(
    private readonly target: HttpTarget,
    private readonly opts: ViewStreamOptions,
    private readonly on: ViewStreamHandlers,
  ) {
    this.first = new Promise((resolve) => (this.firstDone = resolve));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.finish({ error: timeoutError(opts.timeoutMs, this.phase) });
    }, opts.timeoutMs);
    void this.send();
  }

  /** Lines received so far. */
  get received(): number {
    return this.lines;
  }

  /** True once the stream has ended (or failed, or was closed). */
  get ended(): boolean {
    return this.done;
  }

  /** Closes the stream without reporting its end. Idempotent. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.req?.destroy();
    this.firstDone();
  }

  private async send(): Promise<void> {
    const t = this.target;
    const options = getOptions(t, false);
    let req: ClientRequest;
    try {
      if (t.protocol === "https:") {
        https ??= import("node:https");
        const mod = await https;
        if (this.done) return;
        req = mod.request(options);
      } else {
        req = httpRequest(options);
      }
    } catch (err) {
      this.finish({ error: describeNetError(err, t.host, this.phase, this.opts.timeoutMs), ...cause(err) });
      return;
    }
    this.req = req;
    req.on("socket", (socket: Socket) => {
      if (!socket.connecting) this.phase = "headers";
      else socket.once("connect", () => this.phase === "connect" && (this.phase = "headers"));
    });
    req.on("response", (res) => this.onResponse(res));
    req.on("error", (err) =>
      this.finish({ error: describeNetError(err, t.host, this.phase, this.opts.timeoutMs), ...cause(err) }),
    );
    req.end();
  }

  private onResponse(res: IncomingMessage): void {
    if (this.done) {
      res.destroy();
      return;
    }
    this.phase = "body";
    this.status = res.statusCode ?? 0;
    if (typeof res.headers.date === "string") this.date = res.headers.date;
    if (this.status !== 200) {
      this.finish({ error: `status ${this.status} (expected 200)` });
      return;
    }
    const type = res.headers["content-type"] ?? "";
    const streamed = type.startsWith(VIEW_STREAM_CONTENT_TYPE);
    this.answered = streamed;
    const proof = res.headers[this.opts.proofHeader];
    res.on("data", (chunk: Buffer) => (streamed ? this.onLines(chunk) : this.onSingle(chunk)));
    res.on("end", () => {
      if (!streamed && !this.done) {
        // One view: handed over as such; the exchange is over, and that is no failure.
        const body = Buffer.concat(this.pending);
        this.pending = [];
        this.done = true;
        this.clearTimer();
        this.on.single(body, typeof proof === "string" ? proof : undefined);
        this.firstDone();
        return;
      }
      this.finish({ error: "stream ended by the member" });
    });
    res.on("error", (err) =>
      this.finish({ error: describeNetError(err, this.target.host, "body", this.opts.timeoutMs) }),
    );
  }

  private onSingle(chunk: Buffer): void {
    if (this.done) return;
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > this.opts.maxLineBytes) {
      this.finish({ error: `body larger than ${this.opts.maxLineBytes} bytes` });
      return;
    }
    this.pending.push(chunk);
  }

  private onLines(chunk: Buffer): void {
    let from = 0;
    while (!this.done) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl === -1) break;
      const part = chunk.subarray(from, nl);
      const line = this.pending.length === 0 ? part : Buffer.concat([...this.pending, part]);
      this.pending = [];
      this.pendingBytes = 0;
      from = nl + 1;
      if (line.length > this.opts.maxLineBytes) {
        this.finish({ error: `view line larger than ${this.opts.maxLineBytes} bytes` });
        return;
      }
      this.lines += 1;
      const parsed = parseStreamLine(line);
      const problem = parsed ? this.on.line(parsed.proof, parsed.body) : "view line is not `<proof> <view>`";
      if (this.lines === 1) {
        this.clearTimer();
        this.firstDone();
      }
      if (problem !== undefined) {
        this.finish({ error: problem });
        return;
      }
    }
    if (this.done || from >= chunk.length) return;
    const rest = chunk.subarray(from);
    this.pendingBytes += rest.length;
    if (this.pendingBytes > this.opts.maxLineBytes) {
      this.finish({ error: `view line larger than ${this.opts.maxLineBytes} bytes` });
      return;
    }
    this.pending.push(rest);
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(out: { error: string; cause?: ProbeCause }): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.req?.destroy();
    this.on.end({
      ...out,
      ...(this.date === undefined || this.status === 200 ? {} : { date: this.date }),
      lines: this.lines,
      answered: this.answered,
    });
    this.firstDone();
  }
}

function cause(err: unknown): { cause?: ProbeCause } {
  const c = localCause(err);
  return c === undefined ? {} : { cause: c };
}

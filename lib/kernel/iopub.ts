/**
 * The IOPub side of the kernel: status, outputs and results go out in the order they happened, and
 * stream text is coalesced. ipykernel's OutStream does the same: a cell printing 400 lines in one
 * synchronous loop sends one `stream` message, not 400 (tslab sent one ZeroMQ message per write, and
 * a burst of them stalled its socket).
 */
import type { Message, Session } from '../jupyter/protocol.js';

export type StreamName = 'stdout' | 'stderr';

/** How long stream text may wait to be joined with more (a progress line still shows at once to a person). */
const STREAM_FLUSH_MS = 20;
/** Flush anyway beyond this much buffered text. */
const STREAM_FLUSH_CHARS = 1 << 20;

export class IopubPublisher {
  private buffered?: { parent?: Message<object>; name: StreamName; text: string };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly session: Session,
    private readonly send: (message: Message<object>) => void,
  ) {}

  /** Queues stream text for `parent` (the request whose cell printed it). */
  stream(parent: Message<object> | undefined, name: StreamName, text: string): void {
    if (text === '') return;
    const buffered = this.buffered;
    if (buffered && (buffered.parent !== parent || buffered.name !== name)) this.flush();
    if (!this.buffered) this.buffered = { parent, name, text: '' };
    this.buffered.text += text;
    if (this.buffered.text.length >= STREAM_FLUSH_CHARS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), STREAM_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Publishes a message on behalf of `parent`, after any stream text that came before it. */
  publish(parent: Message<object> | undefined, msgType: string, content: object): void {
    this.flush();
    this.send(this.message(parent, msgType, content));
  }

  /** Sends the buffered stream text now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const buffered = this.buffered;
    if (!buffered) return;
    this.buffered = undefined;
    this.send(this.message(buffered.parent, 'stream', { name: buffered.name, text: buffered.text }));
  }

  private message(parent: Message<object> | undefined, msgType: string, content: object): Message<object> {
    const message = parent ? this.session.reply(parent, msgType, content) : this.session.message(msgType, content);
    // On IOPub the routing prefix is a topic, not the requester's identity (ipykernel: kernel.<id>.<type>).
    message.identities = [Buffer.from(`kernel.${this.session.id}.${msgType}`)];
    return message;
  }
}

/**
 * The Jupyter messaging protocol's wire format (https://jupyter-client.readthedocs.io/en/latest/messaging.html):
 * messages, their HMAC-SHA256 signatures, and ZeroMQ multipart frames.
 *
 * Written by hand because there is no maintained Node client for it (the @jupyterlab/services client
 * speaks to a Jupyter server over WebSockets, not to a kernel over ZeroMQ); it is small: one delimiter,
 * one signature over four JSON parts.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = Buffer.from('<IDS|MSG>');

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message<Content = Record<string, unknown>> {
  /** ZeroMQ routing identities before the delimiter (empty for DEALER/SUB clients). */
  identities: Buffer[];
  header: MessageHeader;
  /** The header of the request this message answers, or {} for requests. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Content;
  buffers: Buffer[];
}

/** The signing key and session id of one client; turns messages into frames and back. */
export class Session {
  readonly key: string;
  readonly id: string;
  readonly username: string;

  constructor(key: string, id: string = randomUUID(), username = 'hanlab') {
    this.key = key;
    this.id = id;
    this.username = username;
  }

  /** A new request message (no parent). */
  message<Content extends object>(msgType: string, content: Content, metadata: Record<string, unknown> = {}): Message<Content> {
    return {
      identities: [],
      header: { msg_id: randomUUID(), session: this.id, username: this.username, date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION },
      parent_header: {},
      metadata,
      content,
      buffers: [],
    };
  }

  /**
   * A message answering (or published on behalf of) `parent`: its header becomes our parent_header, and
   * its routing identities are kept so a ROUTER socket sends the reply back to the client that asked.
   */
  reply<Content extends object>(parent: Message<object>, msgType: string, content: Content, metadata: Record<string, unknown> = {}): Message<Content> {
    const message = this.message(msgType, content, metadata);
    message.parent_header = parent.header;
    message.identities = parent.identities;
    return message;
  }

  sign(parts: readonly (Buffer | string)[]): string {
    // An empty key means "unsigned" in the protocol; we always use one, but follow the rule.
    if (this.key === '') return '';
    const hmac = createHmac('sha256', this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  }

  /** [identities..., <IDS|MSG>, signature, header, parent_header, metadata, content, buffers...] */
  serialize(message: Message<object>): Buffer[] {
    const parts = [message.header, message.parent_header, message.metadata, message.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
    return [...message.identities, DELIMITER, Buffer.from(this.sign(parts)), ...parts, ...message.buffers];
  }

  /** Parses frames and checks the signature; throws ProtocolError on anything malformed or unsigned. */
  deserialize(frames: readonly Buffer[]): Message {
    const delimiterAt = frames.findIndex((frame) => frame.equals(DELIMITER));
    if (delimiterAt < 0) throw new ProtocolError('message without the <IDS|MSG> delimiter');
    if (frames.length < delimiterAt + 6) throw new ProtocolError(`message with ${frames.length - delimiterAt - 1} parts after the delimiter, expected at least 5`);
    const signature = frames[delimiterAt + 1];
    const parts = frames.slice(delimiterAt + 2, delimiterAt + 6);
    const expected = Buffer.from(this.sign(parts));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new ProtocolError('message signature does not match (wrong key, or a message not from our kernel)');
    }
    const [header, parent, metadata, content] = parts.map((part, index) => {
      try {
        return JSON.parse(part.toString('utf8'));
      } catch {
        throw new ProtocolError(`message part ${index} is not JSON`);
      }
    });
    return {
      identities: frames.slice(0, delimiterAt) as Buffer[],
      header,
      parent_header: parent,
      metadata,
      content,
      buffers: frames.slice(delimiterAt + 6) as Buffer[],
    };
  }
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** The connection file Jupyter writes for a kernel (and we write for ours). */
export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name?: string;
}

export type ChannelName = 'shell' | 'iopub' | 'stdin' | 'control' | 'hb';

export function channelAddress(info: ConnectionInfo, channel: ChannelName): string {
  return `${info.transport}://${info.ip}:${info[`${channel}_port`]}`;
}

/**
 * Test helper: a loopback OpenAI-compatible chat-completions server whose `handler` decides each
 * response, recording every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  prompt: string;
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  url: string;
}

export type Handler = (request: FakeRequest, response: ServerResponse, server: Server) => void | Promise<void>;

/** A loopback OpenAI-compatible server; `handler` decides each response. */
export async function startServer(handler: Handler): Promise<{ baseUrl: string; server: Server; requests: FakeRequest[]; close: () => Promise<void> }> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const messages = body.messages as Array<{ content: string }>;
      const request = { prompt: messages[messages.length - 1].content, body, headers: req.headers, url: req.url ?? '' };
      requests.push(request);
      void handler(request, res, server);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { baseUrl: `http://127.0.0.1:${port}/v1`, server, requests, close };
}

export function answer(res: ServerResponse, content: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
}


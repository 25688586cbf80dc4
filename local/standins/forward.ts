import { request, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * Passes a request on to the emulator behind a local proxy and its answer back, unchanged. `body`: what the proxy
 * already read of the request (otherwise the request is piped); `onDone`: the emulator's side is over (answered in
 * full, or failed), whether or not the client still listens. An emulator out of reach is a 502, as a gateway answers.
 */
export function forward(
  target: URL,
  req: IncomingMessage,
  res: ServerResponse,
  body?: Buffer,
  onStatus?: (status: number) => void,
  onDone?: () => void,
): void {
  const outgoing = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
    (answer) => {
      onStatus?.(answer.statusCode ?? 502);
      answer.once('close', () => onDone?.());
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  outgoing.on('error', (error) => {
    onDone?.();
    answerBadGateway(res, error);
  });
  if (body === undefined) req.pipe(outgoing);
  else outgoing.end(body);
}

/** A proxy's own failure, or the emulator's: 502 with the error, unless an answer has begun (then it is cut short). */
export function answerBadGateway(res: ServerResponse, error: unknown): void {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res.end(String(error));
}

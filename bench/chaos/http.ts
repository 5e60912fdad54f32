/**
 * HTTP to the facilitator processes, with a deadline on every request: a buyer that waits forever on a process that
 * was killed mid-answer is not a buyer, it is a hang. Keep-alive, because `fetch` costs several times the CPU and the
 * load generator shares the machine with the processes it measures.
 */
import { Agent, request } from 'node:http';

export type Answer = { readonly status: number; readonly body: unknown };

/** The request got no answer: refused, reset (a killed process) or past its deadline. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
}

export type ChaosHttp = {
  post(url: string, body: string, timeoutMs: number): Promise<Answer>;
  get(url: string, timeoutMs: number): Promise<Answer>;
  close(): void;
};

export function chaosHttp(connections: number): ChaosHttp {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const send = (url: string, method: string, timeoutMs: number, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
      const req = request(url, { agent, method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          clearTimeout(timer);
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: undefined });
          }
        });
        res.on('error', (error) => fail(error));
      });
      const fail = (error: Error) => {
        clearTimeout(timer);
        req.destroy();
        reject(new NoAnswerError(error.message));
      };
      const timer = setTimeout(
        () => fail(new Error(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('error', fail);
      req.end(body);
    });
  return {
    post: (url, body, timeoutMs) => send(url, 'POST', timeoutMs, body),
    get: (url, timeoutMs) => send(url, 'GET', timeoutMs),
    close: () => agent.destroy(),
  };
}

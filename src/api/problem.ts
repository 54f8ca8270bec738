import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';

/** An error answer as the API's conventions fix it (API.md): `application/problem+json` with a stable `code`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
}

/** `type` stays `about:blank` (RFC 9457): the title is the status's phrase, and `code` says which case it is. */
export function problem(status: number, code: string, title: string, detail: string): Problem {
  return { type: 'about:blank', title, status, code, detail };
}

/**
 * Every error the HTTP side gives is a problem: an unknown route (404 `not_found`), a body that is
 * too large (413 `payload_too_large`) or not JSON (400 `invalid_request`), and anything unforeseen
 * (500 `internal_error`, its message kept out of the answer).
 */
export function answerProblems(app: FastifyInstance): void {
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('application/problem+json').send(problem(404, 'not_found', 'Not Found', 'There is nothing at this address.')));
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode ?? 500;
    const body =
      status === 413
        ? problem(413, 'payload_too_large', 'Content Too Large', 'The request body is larger than this server accepts.')
        : status >= 400 && status < 500
          ? problem(status, 'invalid_request', STATUS_CODES[status] ?? 'Bad Request', 'The request could not be read.')
          : problem(500, 'internal_error', 'Internal Server Error', 'The server could not answer this request.');
    return reply.code(body.status).type('application/problem+json').send(body);
  });
}

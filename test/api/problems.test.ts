import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { answerProblems } from '../../src/api/problem.js';

/** The HTTP side's errors, as API.md fixes them: application/problem+json with a stable code, and nothing of the cause. */
describe('HTTP errors are problems', () => {
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  answerProblems(app);
  app.post('/echo', async (req) => req.body);
  app.get('/broken', async () => {
    throw new Error('pool exhausted at 10.0.0.7:5432 for user posgate');
  });

  const problemOf = async (res: { statusCode: number; headers: Record<string, unknown>; body: string }) => {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    return JSON.parse(res.body) as Record<string, unknown>;
  };

  it('an unknown address: 404 not_found', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(res.statusCode).toBe(404);
    expect(await problemOf(res)).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: 'There is nothing at this address.' });
  });

  it('a body over the limit: 413 payload_too_large', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(2048) }) });
    expect(res.statusCode).toBe(413);
    expect(await problemOf(res)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('a body that is not JSON: 400 invalid_request', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"amount_fen": 1' });
    expect(res.statusCode).toBe(400);
    expect(await problemOf(res)).toMatchObject({ status: 400, code: 'invalid_request', title: 'Bad Request' });
  });

  it('a failure inside: 500 internal_error, saying nothing of its cause', async () => {
    const res = await app.inject({ method: 'GET', url: '/broken' });
    expect(res.statusCode).toBe(500);
    expect(await problemOf(res)).toMatchObject({ status: 500, code: 'internal_error' });
    expect(res.body).not.toMatch(/pool|10\.0\.0\.7|posgate/);
  });
});

import type { AppError } from '../errors';

/**
 * The RFC 9457 document of a refusal, as text: the one shape every error of the service has, whether
 * Express renders it or the HTTP parser refused the request before Express saw it.
 */
export function problemDocument(problem: AppError, where: { requestId: string; instance?: string }): string {
  return JSON.stringify({
    // Extensions first: they can never replace a member RFC 9457 or our clients rely on.
    ...problem.extensions,
    type: `urn:huzhu:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    ...(where.instance === undefined ? {} : { instance: where.instance }),
    requestId: where.requestId,
  });
}

import { errorFactory, type ErrorTable } from '../errors';

export const AUTH_ERRORS = {
  unauthenticated: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'The token is not valid' },
  invalid_credentials: { status: 401, title: 'Wrong username or password' },
  too_many_login_attempts: { status: 429, title: 'Too many login attempts' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  fund_not_found: { status: 404, title: 'Fund not found' },
  username_taken: { status: 409, title: 'The username is taken' },
  invalid_user: { status: 400, title: 'The user cannot be created as described' },
} as const satisfies ErrorTable<string>;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;

export const authError = errorFactory<AuthErrorCode>(AUTH_ERRORS);

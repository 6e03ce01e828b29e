import { errorFactory, type ErrorTable } from '../errors';

export const GUARANTEE_ERRORS = {
  guarantee_circle: { status: 422, title: 'The guarantee would close a guarantee circle' },
} as const satisfies ErrorTable<string>;

export type GuaranteeErrorCode = keyof typeof GUARANTEE_ERRORS;

export const guaranteeError = errorFactory<GuaranteeErrorCode>(GUARANTEE_ERRORS);

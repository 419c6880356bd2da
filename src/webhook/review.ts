import { z } from 'zod';

/**
 * admission.k8s.io/v1 AdmissionReview: what the API server sends and what we
 * answer. Only v1 is accepted (the webhook configurations ask for ["v1"]).
 */
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const requestSchema = z.looseObject({
  uid: z.string().min(1, 'must not be empty'),
  kind: z.looseObject({ group: z.string(), version: z.string(), kind: z.string() }),
  resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }).optional(),
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  object: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});
const reviewSchema = z.looseObject({
  apiVersion: z.literal(ADMISSION_API_VERSION, { error: `must be "${ADMISSION_API_VERSION}"` }),
  kind: z.literal('AdmissionReview', { error: 'must be "AdmissionReview"' }),
  request: requestSchema,
});

export type AdmissionRequest = z.output<typeof requestSchema>;

export interface AdmissionResponseBody {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  patch?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponseBody;
}

/** Parses a request body; the problems (path: message) when it is not an AdmissionReview. */
export function parseAdmissionReview(body: unknown): { request: AdmissionRequest; problems: [] } | { request: undefined; problems: string[] } {
  const r = reviewSchema.safeParse(body);
  if (r.success) return { request: r.data.request, problems: [] };
  return { request: undefined, problems: r.error.issues.slice(0, 10).map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`) };
}

export function reviewResponse(response: AdmissionResponseBody): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

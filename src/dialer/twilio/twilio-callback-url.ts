/** Query parameter that carries the job id on a status callback URL. */
export const JOB_ID_PARAM = 'jobId';
/** Query parameter that carries the lock token on a status callback URL. */
export const LOCK_TOKEN_PARAM = 'lockToken';

/**
 * The status callback URL of one dial: the host's route plus the job id and lock token.
 * The base is kept byte for byte (its own query included) because Twilio signs the exact string it
 * was given, and the route receives that same string back.
 * @param base - the host's public status callback route
 * @param jobId - the job being dialed
 * @param lockToken - the job's current lock token
 * @returns the URL to give Twilio as `StatusCallback`
 */
export function statusCallbackUrlFor(base: string, jobId: string, lockToken: string): string {
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${JOB_ID_PARAM}=${encodeURIComponent(jobId)}&${LOCK_TOKEN_PARAM}=${encodeURIComponent(lockToken)}`;
}

/**
 * Checks a status callback route given as an option.
 * @param value - the configured URL
 * @returns what is wrong with it, or undefined when it is usable
 */
export function callbackUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (value.includes('#')) return 'must not have a #fragment';
  for (const name of [JOB_ID_PARAM, LOCK_TOKEN_PARAM]) {
    if (url.searchParams.has(name)) return `must not already have a "${name}" query parameter`;
  }
  return undefined;
}

/**
 * The job id and lock token a status callback URL carries.
 * @param url - the URL the callback arrived at (any origin)
 * @returns both values, or undefined for each one that is missing
 */
export function callbackIdentity(url: string): { jobId?: string; lockToken?: string } {
  const query = url.indexOf('?');
  if (query === -1) return {};
  const hash = url.indexOf('#', query);
  const params = new URLSearchParams(url.slice(query + 1, hash === -1 ? undefined : hash));
  return {
    jobId: params.get(JOB_ID_PARAM) ?? undefined,
    lockToken: params.get(LOCK_TOKEN_PARAM) ?? undefined,
  };
}

/**
 * `url` as seen from the public side of a proxy: its origin (and path prefix, if any) replaced by
 * `publicUrl`'s, its path and query kept.
 * @param url - the URL the request arrived at
 * @param publicUrl - the public origin, optionally with a path prefix (`https://api.example.com/hooks`)
 * @returns the URL Twilio called, or undefined when `url` is not absolute
 */
export function withPublicOrigin(url: string, publicUrl: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(url);
  if (!match) return undefined;
  const rest = match[1] ?? '';
  const prefix = publicUrl.endsWith('/') ? publicUrl.slice(0, -1) : publicUrl;
  return `${prefix}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
}

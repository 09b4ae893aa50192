/**
 * HTTP Basic auth for what the examples serve besides the Twilio webhook: the dashboard (the
 * `authorize` option of `createDashboardHandler`) and the `/runs` API (each framework's guard), one
 * login from DASHBOARD_USER / DASHBOARD_PASSWORD, or a password made up at start when none is set.
 * Both can start and stop calls: neither is ever left open.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Who may open the dashboard and call the API. */
export interface DashboardLogin {
  user: string;
  password: string;
  /** True when DASHBOARD_PASSWORD was unset and `password` was made up for this process. */
  generated: boolean;
}

/**
 * Reads the dashboard's login from the environment.
 * @param env - DASHBOARD_USER (default `admin`) and DASHBOARD_PASSWORD (default: a random one)
 * @returns the login
 */
export function dashboardLogin(env: NodeJS.ProcessEnv = process.env): DashboardLogin {
  const password = env.DASHBOARD_PASSWORD;
  return {
    user: env.DASHBOARD_USER || 'admin',
    password: password || randomBytes(12).toString('base64url'),
    generated: !password,
  };
}

/**
 * Says how to log in, for the start banner: the password only when it was made up here.
 * @param login - the dashboard's login
 * @returns e.g. `user admin, password 3q2-7wEr... (set DASHBOARD_PASSWORD to choose one)`
 */
export function describeLogin(login: DashboardLogin): string {
  return login.generated
    ? `user ${login.user}, password ${login.password} (set DASHBOARD_PASSWORD to choose one)`
    : `user ${login.user}, password from DASHBOARD_PASSWORD`;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The answer to a request without the login: 401, and `WWW-Authenticate` so that a browser asks for it. */
export const LOGIN_REQUIRED = {
  status: 401,
  headers: { 'WWW-Authenticate': 'Basic realm="outbound-queue"' },
  body: { error: 'UNAUTHORIZED', message: 'log in (HTTP Basic auth: DASHBOARD_USER, DASHBOARD_PASSWORD)' },
} as const;

/**
 * The login check itself, for a framework's guard: whether an `Authorization` header carries the
 * login. A guard that gets false answers {@link LOGIN_REQUIRED}.
 * @param login - the dashboard's login
 * @returns `(authorization header, if any) => boolean`
 */
export function loginCheck(login: DashboardLogin): (authorization: string | null | undefined) => boolean {
  // Comparing digests gives both sides one length, so timingSafeEqual can compare in constant time.
  const expected = sha256(`${login.user}:${login.password}`);
  return (authorization) => {
    const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization ?? '');
    const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    return match !== null && timingSafeEqual(sha256(given), expected);
  };
}

/**
 * The dashboard's `authorize`: lets in a request whose `Authorization: Basic` header carries the
 * login, and answers any other with {@link LOGIN_REQUIRED}.
 * @param login - the dashboard's login
 * @returns `(request) => true | Response`
 */
export function basicAuth(login: DashboardLogin): (request: Request) => true | Response {
  const allows = loginCheck(login);
  return (request) => {
    if (allows(request.headers.get('authorization'))) return true;
    return new Response(JSON.stringify(LOGIN_REQUIRED.body), {
      status: LOGIN_REQUIRED.status,
      headers: { ...LOGIN_REQUIRED.headers, 'Content-Type': 'application/json; charset=utf-8' },
    });
  };
}

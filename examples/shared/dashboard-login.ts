/**
 * HTTP Basic auth for the dashboard the examples mount: the `authorize` option of
 * `createDashboardHandler`, against DASHBOARD_USER / DASHBOARD_PASSWORD, or a password made up at
 * start when none is set (the page can start and stop calls: it is never left open).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Who may open the dashboard. */
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

/**
 * The dashboard's `authorize`: lets in a request whose `Authorization: Basic` header carries the
 * login, and answers any other with 401 and `WWW-Authenticate`, so that a browser asks for it.
 * @param login - the dashboard's login
 * @returns `(request) => true | Response`
 */
export function basicAuth(login: DashboardLogin): (request: Request) => true | Response {
  // Comparing digests gives both sides one length, so timingSafeEqual can compare in constant time.
  const expected = sha256(`${login.user}:${login.password}`);
  return (request) => {
    const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(request.headers.get('authorization') ?? '');
    const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    if (match && timingSafeEqual(sha256(given), expected)) return true;
    return new Response(JSON.stringify({ error: 'UNAUTHORIZED', message: 'log in to open the dashboard' }), {
      status: 401,
      headers: {
        'WWW-Authenticate': 'Basic realm="outbound-queue"',
        'Content-Type': 'application/json; charset=utf-8',
      },
    });
  };
}

// The GraphQL client: urql over HTTP for queries and mutations, graphql-ws for subscriptions,
// both on /graphql/ of the page's own origin and authenticated with the session's token.
import { Client, fetchExchange, subscriptionExchange, type AnyVariables, type TypedDocumentNode } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { LoginDocument, LogoutDocument, RefreshDocument, type AuthFragment } from './generated/graphql';
import { Session, type Tokens } from './session';

export const GRAPHQL_PATH = '/graphql/';
/** The API closes a socket with this code when the token it was opened with is refused. */
export const CLOSE_FORBIDDEN = 4403;

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${GRAPHQL_PATH}`;
}

function toTokens(auth: AuthFragment): Tokens {
  return { accessToken: auth.accessToken, expiresIn: auth.expiresIn, user: auth.user };
}

/** Without the (expired) access token: the httpOnly refresh cookie is the credential here. */
const BY_COOKIE = { fetchOptions: { credentials: 'include' as const } };

async function renew(): Promise<Tokens | null> {
  const answer = await client.mutation(RefreshDocument, {}, BY_COOKIE).toPromise();
  return answer.data ? toTokens(answer.data.refreshToken) : null;
}

export const session = new Session(renew);

let ws: WsClient | null = null;

/** The first reconnection at once (a 4403 at token expiry must not leave a gap in the
 *  stream), later ones backing off up to 10 s, with jitter. */
export function reconnectDelay(retries: number): Promise<void> {
  const ms = retries === 0 ? 0 : Math.min(1000 * 2 ** (retries - 1), 10_000) + Math.random() * 500;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function socket(): WsClient {
  if (!ws) {
    ws = createWsClient({
      url: wsUrl(),
      lazy: true,
      lazyCloseTimeout: 1000,
      retryAttempts: Infinity,
      retryWait: reconnectDelay,
      // Each (re)connection asks for a token that is valid now: after a 4403 close the client
      // reconnects, and the session renews the token first.
      connectionParams: async () => {
        const token = await session.freshAccessToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      shouldRetry: () => session.accessToken !== null,
      on: {
        closed: (event) => {
          if ((event as CloseEvent).code === CLOSE_FORBIDDEN) void session.refresh();
        },
      },
    });
  }
  return ws;
}

export const client = new Client({
  url: GRAPHQL_PATH,
  requestPolicy: 'network-only',
  preferGetMethod: false,
  fetchOptions: (): RequestInit => {
    const token = session.accessToken;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    return { credentials: 'include', headers };
  },
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query || '' };
        return {
          subscribe(sink) {
            const unsubscribe = socket().subscribe(input, sink);
            return { unsubscribe };
          },
        };
      },
    }),
  ],
});

export async function login(username: string, password: string): Promise<string | null> {
  const answer = await client.mutation(LoginDocument, { username, password }).toPromise();
  if (answer.data) {
    session.start(toTokens(answer.data.loginUser));
    return null;
  }
  return answer.error?.graphQLErrors[0]?.message ?? answer.error?.message ?? 'Sign-in failed.';
}

export async function logout(): Promise<void> {
  try {
    await client.mutation(LogoutDocument, {}, BY_COOKIE).toPromise(); // revokes and clears the cookie
  } finally {
    session.clear();
  }
  ws?.terminate();
  ws = null;
}

/** After a reload: a session from the refresh cookie, if the API set one. */
export async function resume(): Promise<boolean> {
  return (await session.refresh()) !== null;
}

/** A query or mutation's data, or throws its first error's message. */
export async function run<R, V extends AnyVariables>(document: TypedDocumentNode<R, V>, variables: V, kind: 'query' | 'mutation' = 'query'): Promise<R> {
  const answer = await (kind === 'query' ? client.query(document, variables) : client.mutation(document, variables)).toPromise();
  if (answer.error || !answer.data) throw new Error(answer.error?.graphQLErrors[0]?.message ?? answer.error?.message ?? 'No answer.');
  return answer.data;
}

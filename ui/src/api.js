// POST /graphql from the page: the server's own origin, the bearer token when the server asks for one (kept in this
// tab's sessionStorage), errors[].message joined as the SkyWalking UI shows them.

const TOKEN_KEY = "swprof.token";

/** Thrown when the server wants a token this tab does not have (or has a wrong one). */
export class NeedsToken extends Error {}

export function setToken(token) {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch("graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`/graphql answered ${res.status} ${res.statusText} without JSON`);
  }
  if (res.status === 401) throw new NeedsToken(body.errors?.[0]?.message || "this server needs a bearer token");
  if (body.errors && body.errors.length) {
    throw new Error(body.errors.map((e) => e.message).join(" "));
  }
  if (!res.ok) throw new Error(`/graphql answered ${res.status} ${res.statusText}`);
  return body.data;
}

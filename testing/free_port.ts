/**
 * Test support shared by the unit tests beside the code (cli/, service/) and
 * the integration tests in tests/. It lives outside tests/ because unit tests
 * must not depend on the integration folder, and outside any product folder
 * because product code must never import it (cli/layering_test.ts checks both).
 */

/**
 * A TCP port on 127.0.0.1 that nothing listened on a moment ago: the kernel
 * picks it for a listener on port 0, which is closed again at once. Another
 * process may take it before the caller binds it; tests accept that race.
 *
 * @returns the port number (1–65535)
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

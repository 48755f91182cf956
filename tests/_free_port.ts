/** Test helper with no dependencies, shared by unit and integration tests. */

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (the kernel's choice). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * HTTP over unix sockets (the Docker Engine's socket, nginx's admin socket),
 * through Deno's `fetch` with a unix-socket `HttpClient`. I/O shell.
 */

/**
 * One HTTP client per unix socket path for the whole process, never one per
 * request: Deno 2.9 stops answering after about 28 `Deno.createHttpClient`
 * calls in one process, each closed after use (the 29th fetch never
 * completes, with no file descriptor or thread left behind; measured here
 * against dockerd, nginx and a Deno.serve socket alike). Pass the result as
 * `fetch(url, { client })`; never close it.
 */
export function unixHttpClient(path: string): Deno.HttpClient {
  let client = clients.get(path);
  if (!client) {
    client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
    clients.set(path, client);
  }
  return client;
}

const clients = new Map<string, Deno.HttpClient>();

/**
 * A fake Docker Engine on a unix socket, for what the real engine here
 * (Docker 20.10, API 1.41) cannot show: a newer engine's API range and a
 * build stream that ends badly. It answers as dockerd does:
 * - unversioned `GET /version` with `ApiVersion`, `MinAPIVersion`, `Version`;
 * - a versioned path below `MinAPIVersion` or above `ApiVersion` gets HTTP 400
 *   `{"message":"client version 1.41 is too old. Minimum supported API version
 *   is 1.44, please upgrade your client to a newer version"}` (Docker 29's text);
 * - `GET /info`, `GET /_ping`, image inspect (404 "No such image"), image tag,
 *   container and network lists (empty), and `POST /build` streaming
 *   newline-delimited JSON as the classic builder does, or ending as told.
 */
import { join } from "node:path";

/** How the fake's `POST /build` stream goes. */
export type BuildMode =
  /** Progress, `{"aux":{"ID":…}}`, "Successfully built/tagged": the tags move to the new id. */
  | "complete"
  /** Progress lines only, then a clean end. */
  | "progress-only"
  /** Progress, then the aux line cut in the middle. */
  | "truncated-line"
  /** Progress, then the connection drops (no terminating chunk). */
  | "broken"
  /** Progress, then an `error` line, as the builder reports a failed step. */
  | "error"
  /** An `errorDetail` without the `error` field. */
  | "error-detail-only";

/** The fake reads these on every request: a test may change them to play an engine upgrade. */
export interface FakeEngineOptions {
  /** The engine's newest API version ("1.52" for Docker 29). */
  apiVersion: string;
  /** The engine's oldest API version; left out of /version when undefined. */
  minApiVersion?: string;
  /** The engine's release, "29.0.0". */
  release?: string;
  /** Images by reference (tag or id). */
  images?: Record<string, { Id: string; Size: number }>;
  build?: BuildMode;
}

export interface FakeEngine {
  socket: string;
  /** `unix://<socket>`, for DOCKER_HOST. */
  dockerHost: string;
  /** "METHOD /path" of every request, in order. */
  requests: string[];
  images: Map<string, { Id: string; Size: number }>;
  /** The id the next complete build reports. */
  readonly builtId: string;
  close(): Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

function cmp(a: string, b: string): number {
  const [a1, a2] = a.split(".").map(Number) as [number, number];
  const [b1, b2] = b.split(".").map(Number) as [number, number];
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** Starts the fake on a fresh socket in a temp folder. */
export async function startFakeEngine(opts: FakeEngineOptions): Promise<FakeEngine> {
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy-fake-engine-" });
  const socket = join(dir, "docker.sock");
  const requests: string[] = [];
  const images = new Map(Object.entries(opts.images ?? {}));
  const builtId = `sha256:${"b".repeat(64)}`;
  const enc = new TextEncoder();

  const buildStream = (tags: string[]): Response => {
    const mode = opts.build ?? "complete";
    const progress = [
      { stream: "Step 1/2 : FROM scratch\n" },
      { stream: " ---> \n" },
      { stream: "Step 2/2 : ADD rootfs.tar /\n" },
    ].map((m) => JSON.stringify(m) + "\r\n");
    const tail: Record<BuildMode, string[]> = {
      "complete": [
        JSON.stringify({ aux: { ID: builtId } }) + "\r\n",
        JSON.stringify({ stream: ` ---> ${builtId.slice(7, 19)}\n` }) + "\r\n",
        JSON.stringify({ stream: `Successfully built ${builtId.slice(7, 19)}\n` }) + "\r\n",
        ...tags.map((t) => JSON.stringify({ stream: `Successfully tagged ${t}\n` }) + "\r\n"),
      ],
      "progress-only": [],
      "truncated-line": ['{"aux":{"ID":"sha256:bbbb'],
      "broken": [],
      "error": [
        JSON.stringify({
          errorDetail: { message: "failed to register layer: no space left on device" },
          error: "failed to register layer: no space left on device",
        }) + "\r\n",
      ],
      "error-detail-only": [
        JSON.stringify({ errorDetail: { message: "no space left on device" } }) + "\r\n",
      ],
    };
    const chunks = [...progress, ...tail[mode]];
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 5));
        const chunk = chunks[i++];
        if (chunk !== undefined) return controller.enqueue(enc.encode(chunk));
        if (mode === "broken") {
          return controller.error(
            new Error("fake engine: connection dropped mid-build, as the test asks"),
          );
        }
        if (mode === "complete") {
          for (const t of tags) images.set(t, { Id: builtId, Size: 1234 });
        }
        if (mode === "complete") images.set(builtId, { Id: builtId, Size: 1234 });
        controller.close();
      },
    });
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let path = decodeURIComponent(url.pathname);
    requests.push(`${req.method} ${path}`);
    const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (versioned) {
      const v = versioned[1]!;
      const min = opts.minApiVersion ?? "1.12";
      if (cmp(v, min) < 0) {
        return json(400, {
          message: `client version ${v} is too old. Minimum supported API version is ${min}, ` +
            "please upgrade your client to a newer version",
        });
      }
      if (cmp(v, opts.apiVersion) > 0) {
        return json(400, {
          message:
            `client version ${v} is too new. Maximum supported API version is ${opts.apiVersion}`,
        });
      }
      path = versioned[2]!;
    }
    if (req.body) await req.arrayBuffer();
    if (req.method === "GET" && path === "/_ping") return new Response("OK");
    if (req.method === "GET" && path === "/version") {
      return json(200, {
        Version: opts.release ?? "29.0.0",
        ApiVersion: opts.apiVersion,
        ...(opts.minApiVersion !== undefined ? { MinAPIVersion: opts.minApiVersion } : {}),
        Os: "linux",
        Arch: "amd64",
      });
    }
    if (req.method === "GET" && path === "/info") {
      return json(200, {
        DockerRootDir: "/var/lib/docker",
        ServerVersion: opts.release ?? "29.0.0",
        Name: "fake",
      });
    }
    const image = /^\/images\/(.+)\/json$/.exec(path);
    if (req.method === "GET" && image) {
      const ref = image[1]!;
      const found = images.get(ref);
      // From API 1.52 unset Config fields are left out: no Config.User, no Labels.
      return found
        ? json(200, { Id: found.Id, RepoTags: [ref], Size: found.Size, Config: {} })
        : json(404, { message: `No such image: ${ref}` });
    }
    const tag = /^\/images\/(.+)\/tag$/.exec(path);
    if (req.method === "POST" && tag) {
      const found = images.get(tag[1]!);
      if (!found) return json(404, { message: "No such image" });
      images.set(`${url.searchParams.get("repo")}:${url.searchParams.get("tag")}`, found);
      return new Response(null, { status: 201 });
    }
    if (req.method === "GET" && (path === "/containers/json" || path === "/networks")) {
      return json(200, []);
    }
    if (req.method === "POST" && path === "/build") {
      return buildStream(url.searchParams.getAll("t"));
    }
    return json(404, { message: "page not found" });
  };

  const server = Deno.serve({ path: socket, transport: "unix", onListen: () => {} }, handler);
  return {
    socket,
    dockerHost: `unix://${socket}`,
    requests,
    images,
    builtId,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

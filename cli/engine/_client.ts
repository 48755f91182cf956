/**
 * A small typed Docker Engine API client on Deno's fetch, over the unix
 * socket (or tcp). Only the calls the lifecycle needs. Errors are typed:
 * unreachable, not found, conflict, or an engine error carrying its message.
 */
import { unixHttpClient } from "../net/mod.ts";
import { ExitCode, SwiftDeployError } from "../errors/mod.ts";
import {
  type ApiRange,
  CLIENT_API_RANGE,
  compareApiVersions,
  negotiateApiVersion,
  type NegotiationProblem,
} from "./_api_version.ts";
import { candidateEndpoints, type Endpoint } from "./_endpoint.ts";
import { demuxLogs, readJsonLines } from "./_stream.ts";
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerSummary,
  ImageInspect,
  NetworkCreateBody,
  NetworkSummary,
  SwarmNode,
  VolumeCreateBody,
  VolumeSummary,
} from "./_types.ts";

/** The newest API version this client speaks (Docker 29); see `_api_version.ts`. */
export const CLIENT_API_VERSION = CLIENT_API_RANGE.max;

export class EngineUnreachableError extends SwiftDeployError {
  constructor(tried: string[], cause?: unknown) {
    super(
      "ENGINE_UNREACHABLE",
      `Cannot reach the Docker Engine: no answer at ${tried.map((t) => `"${t}"`).join(", ")}`,
      {
        hint: "run `./swiftdeploy engine start`, or set DOCKER_HOST to a running engine",
        exitCode: ExitCode.failure,
        cause,
      },
    );
  }
}

/**
 * The engine answers but cannot be used: it shares no API version with this
 * client, or its `/version` answer does not say which versions it serves.
 * Exit 5. `engine` is the range the engine reported (absent when malformed).
 */
export class EngineApiVersionError extends SwiftDeployError {
  readonly endpoint: string;
  readonly engine: ApiRange | undefined;
  readonly client: ApiRange;
  /** The engine's own release ("29.0.0"), when it said. */
  readonly engineRelease: string | undefined;

  constructor(
    endpoint: string,
    problem: NegotiationProblem | { kind: "refused"; message: string },
    engineRelease?: string,
    client: ApiRange = CLIENT_API_RANGE,
  ) {
    const where = `Cannot use the Docker Engine at "${endpoint}"${
      engineRelease ? ` (Docker ${engineRelease})` : ""
    }`;
    let message: string;
    let hint: string;
    if (problem.kind === "no-overlap") {
      const { engine } = problem;
      message = `${where}: no API version in common: the engine serves ${engine.min} to ` +
        `${engine.max}, SwiftDeploy speaks ${client.min} to ${client.max}`;
      hint = compareApiVersions(engine.min, client.max) > 0
        ? `upgrade SwiftDeploy, or use a Docker Engine that still serves API ${client.max}`
        : `upgrade the Docker Engine to one that serves API ${client.min} or newer (Docker 19.03+)`;
    } else if (problem.kind === "malformed") {
      message = `${where}: its /version answer has no valid ${problem.field} (got ${
        JSON.stringify(problem.value) ?? "nothing"
      })`;
      hint = "check that DOCKER_HOST points at a Docker Engine";
    } else {
      message = `${where}: it refused API ${problem.message}`;
      hint = "the engine changed since SwiftDeploy connected (upgraded?); run the command again";
    }
    super("ENGINE_API_VERSION", message, { hint, exitCode: ExitCode.engineIncompatible });
    this.endpoint = endpoint;
    this.engine = problem.kind === "no-overlap" ? problem.engine : undefined;
    this.client = client;
    this.engineRelease = engineRelease;
  }
}

export class EngineNotFoundError extends SwiftDeployError {
  constructor(message: string) {
    super("ENGINE_NOT_FOUND", message);
  }
}

export class EngineConflictError extends SwiftDeployError {
  constructor(message: string) {
    super("ENGINE_CONFLICT", message);
  }
}

export class EngineApiError extends SwiftDeployError {
  readonly status: number;
  constructor(status: number, message: string) {
    super("ENGINE_ERROR", message);
    this.status = status;
  }
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Milliseconds; default 30 s. 0 disables the timeout (streams). */
  timeoutMs?: number;
}

function encodeQuery(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) { for (const item of v) params.append(k, item); }
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

export class EngineClient {
  readonly endpoint: Endpoint;
  readonly apiVersion: string;
  readonly #http: Deno.HttpClient | undefined;
  readonly #base: string;

  private constructor(endpoint: Endpoint, http: Deno.HttpClient | undefined, apiVersion: string) {
    this.endpoint = endpoint;
    this.#http = http;
    this.apiVersion = apiVersion;
    this.#base = endpoint.kind === "unix"
      ? "http://docker"
      : `http://${endpoint.host}:${endpoint.port}`;
  }

  /**
   * Finds an answering engine among the candidates (DOCKER_HOST alone when
   * set) and negotiates the API version from its unversioned `GET /version`:
   * the newest both serve (see {@link negotiateApiVersion}).
   *
   * @throws DockerHostError (exit 6) when DOCKER_HOST is malformed
   * @throws EngineApiVersionError (exit 5) when an engine answers but shares
   *   no API version with this client
   * @throws EngineUnreachableError (exit 1) when no candidate answers
   */
  static async connect(
    env: { dockerHost?: string | undefined; projectSocket?: string | undefined },
  ): Promise<EngineClient> {
    const tried: string[] = [];
    let lastError: unknown;
    for (const endpoint of candidateEndpoints(env)) {
      tried.push(endpoint.label);
      const http = endpoint.kind === "unix" ? unixHttpClient(endpoint.path) : undefined;
      const probe = new EngineClient(endpoint, http, CLIENT_API_VERSION);
      try {
        const version = await probe.#raw("GET", "/version", { timeoutMs: 5000 }, false);
        const text = await version.text();
        let info: { ApiVersion?: unknown; MinAPIVersion?: unknown; Version?: unknown } = {};
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === "object") info = parsed as typeof info;
        } catch { /* not JSON: reported as a malformed answer below */ }
        const release = typeof info.Version === "string" ? info.Version : undefined;
        const negotiated = negotiateApiVersion(info);
        if (!negotiated.ok) {
          throw new EngineApiVersionError(endpoint.label, negotiated.problem, release);
        }
        return new EngineClient(endpoint, http, negotiated.version);
      } catch (error) {
        if (error instanceof SwiftDeployError && error.code !== "ENGINE_UNREACHABLE") throw error;
        lastError = error;
      }
    }
    throw new EngineUnreachableError(tried, lastError);
  }

  /**
   * Ends this client. The socket's transport is shared by every client of the
   * process (see `unixTransport`) and stays open, idle, for the next one.
   */
  close(): void {}

  async #raw(
    method: string,
    path: string,
    opts: RequestOptions,
    versioned = true,
  ): Promise<Response> {
    const url = `${this.#base}${versioned ? `/v${this.apiVersion}` : ""}${path}${
      encodeQuery(opts.query)
    }`;
    const headers: Record<string, string> = { ...opts.headers };
    let body: BodyInit | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["Content-Type"] = "application/json";
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const init: RequestInit & { client?: Deno.HttpClient } = { method, headers };
    if (body !== undefined) init.body = body;
    if (timeoutMs > 0) init.signal = AbortSignal.timeout(timeoutMs);
    if (this.#http) init.client = this.#http;
    try {
      return await fetch(url, init);
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw new SwiftDeployError(
          "ENGINE_ERROR",
          `Docker Engine did not answer ${method} ${path} within ${timeoutMs / 1000} s`,
          { cause: error },
        );
      }
      throw new EngineUnreachableError([this.endpoint.label], error);
    }
  }

  /** Sends a request and maps error statuses to typed errors. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.#raw(method, path, opts);
    if (res.ok || res.status === 304) return res;
    const text = await res.text();
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch { /* plain text body */ }
    const what = `${method} ${path.split("?")[0]}`;
    if (res.status === 400 && /client version .* is too (old|new)/i.test(message)) {
      throw new EngineApiVersionError(this.endpoint.label, {
        kind: "refused",
        message: `${this.apiVersion} for ${what}: ${message}`,
      });
    }
    if (res.status === 404) throw new EngineNotFoundError(`${what}: ${message}`);
    if (res.status === 409) throw new EngineConflictError(`${what}: ${message}`);
    throw new EngineApiError(
      res.status,
      `Docker Engine refused ${what} (HTTP ${res.status}): ${message}`,
    );
  }

  async #json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status === 204 || res.status === 304) {
      await res.body?.cancel();
      return undefined as T;
    }
    return await res.json() as T;
  }

  async #none(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    await res.body?.cancel();
  }

  // --- system -------------------------------------------------------------
  version(): Promise<{ Version: string; ApiVersion: string; Os: string; Arch: string }> {
    return this.#json("GET", "/version");
  }
  /** `GET /info`; `NCPU` and `MemTotal` (bytes) describe the engine's host. */
  info(): Promise<
    { DockerRootDir: string; ServerVersion: string; Name: string; NCPU?: number; MemTotal?: number }
  > {
    return this.#json("GET", "/info");
  }

  // --- images -------------------------------------------------------------
  async imageInspect(ref: string): Promise<ImageInspect | undefined> {
    try {
      return await this.#json<ImageInspect>("GET", `/images/${encodeURIComponent(ref)}/json`);
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
  }

  async imageTag(ref: string, repo: string, tag: string): Promise<void> {
    await this.#none("POST", `/images/${encodeURIComponent(ref)}/tag`, { query: { repo, tag } });
  }

  async imageRemove(ref: string): Promise<void> {
    await this.#none("DELETE", `/images/${encodeURIComponent(ref)}`, { query: { force: true } });
  }

  /**
   * Builds an image from a tar context with the classic builder. Progress
   * lines go to `onProgress`. Returns the id the engine reports for the built
   * image (`{"aux":{"ID":…}}` in the stream); never the id a tag had before.
   *
   * @throws SwiftDeployError IMAGE_BUILD_FAILED (exit 1) when the stream
   *   reports an error (`error` or `errorDetail`), breaks off, carries a line
   *   that is not JSON, or ends without an image id
   */
  async imageBuild(
    context: Uint8Array,
    tags: string[],
    onProgress: (line: string) => void,
  ): Promise<string> {
    const res = await this.request("POST", "/build", {
      query: { t: tags, rm: true, forcerm: true, q: false },
      headers: { "Content-Type": "application/x-tar" },
      body: context as BodyInit,
      timeoutMs: 0,
    });
    const what = `Image build of "${tags[0] ?? "(untagged)"}" failed`;
    let imageId = "";
    try {
      for await (const msg of readJsonLines(res.body)) {
        const m = (msg ?? {}) as {
          stream?: string;
          error?: string;
          errorDetail?: { message?: string };
          aux?: { ID?: unknown };
        };
        const error = m.error ?? m.errorDetail?.message;
        if (error) throw new SwiftDeployError("IMAGE_BUILD_FAILED", `${what}: ${error.trim()}`);
        if (typeof m.aux?.ID === "string" && m.aux.ID) imageId = m.aux.ID;
        if (typeof m.stream === "string") {
          for (const line of m.stream.split("\n")) if (line.trim()) onProgress(line);
        }
      }
    } catch (error) {
      if (error instanceof SwiftDeployError) throw error;
      throw new SwiftDeployError(
        "IMAGE_BUILD_FAILED",
        `${what}: the engine's build stream broke off (${(error as Error)?.message ?? error})`,
        { cause: error, hint: "see the engine's log, then run `swiftdeploy build` again" },
      );
    }
    if (!imageId) {
      throw new SwiftDeployError(
        "IMAGE_BUILD_FAILED",
        `${what}: the engine's build stream ended without an image id`,
        { hint: "see the engine's log, then run `swiftdeploy build` again" },
      );
    }
    return imageId;
  }

  // --- containers ---------------------------------------------------------
  containerList(labels: string[], all = true): Promise<ContainerSummary[]> {
    return this.#json("GET", "/containers/json", {
      query: { all, filters: JSON.stringify({ label: labels }) },
    });
  }

  async containerCreate(name: string, body: ContainerCreateBody): Promise<string> {
    const res = await this.#json<{ Id: string }>("POST", "/containers/create", {
      query: { name },
      json: body,
    });
    return res.Id;
  }

  async containerInspect(id: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.#json<ContainerInspect>(
        "GET",
        `/containers/${encodeURIComponent(id)}/json`,
      );
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
  }

  containerStart(id: string): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/start`);
  }

  /** Stops with SIGTERM (or the image's stop signal), then SIGKILL after `seconds`. */
  containerStop(id: string, seconds = 15): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/stop`, {
      query: { t: seconds },
      timeoutMs: (seconds + 30) * 1000,
    });
  }

  containerRestart(id: string, seconds = 10): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/restart`, {
      query: { t: seconds },
      timeoutMs: (seconds + 30) * 1000,
    });
  }

  containerKill(id: string, signal: string): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  containerRename(id: string, name: string): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  containerPause(id: string): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/pause`);
  }

  containerUnpause(id: string): Promise<void> {
    return this.#none("POST", `/containers/${encodeURIComponent(id)}/unpause`);
  }

  async containerRemove(id: string, opts: { force?: boolean } = {}): Promise<void> {
    try {
      await this.#none("DELETE", `/containers/${encodeURIComponent(id)}`, {
        query: { force: opts.force ?? true, v: false },
      });
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
    }
  }

  /** The last `tail` lines of stdout and stderr, demultiplexed. */
  async containerLogs(id: string, tail = 20): Promise<string> {
    const res = await this.request("GET", `/containers/${encodeURIComponent(id)}/logs`, {
      query: { stdout: true, stderr: true, tail, timestamps: false },
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return demuxLogs(bytes);
  }

  // --- networks and volumes -----------------------------------------------
  networkList(labels: string[]): Promise<NetworkSummary[]> {
    return this.#json("GET", "/networks", {
      query: { filters: JSON.stringify({ label: labels }) },
    });
  }

  async networkInspect(name: string): Promise<NetworkSummary | undefined> {
    try {
      return await this.#json<NetworkSummary>("GET", `/networks/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
  }

  async networkCreate(body: NetworkCreateBody): Promise<string> {
    const res = await this.#json<{ Id: string }>("POST", "/networks/create", { json: body });
    return res.Id;
  }

  /** Attaches a running container to a network, with its aliases (and static address). */
  networkConnect(
    network: string,
    container: string,
    endpoint: { Aliases?: string[]; IPAMConfig?: { IPv4Address: string } } = {},
  ): Promise<void> {
    return this.#none("POST", `/networks/${encodeURIComponent(network)}/connect`, {
      json: { Container: container, EndpointConfig: endpoint },
    });
  }

  networkDisconnect(network: string, container: string): Promise<void> {
    return this.#none("POST", `/networks/${encodeURIComponent(network)}/disconnect`, {
      json: { Container: container, Force: false },
    });
  }

  async networkRemove(id: string): Promise<void> {
    try {
      await this.#none("DELETE", `/networks/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
    }
  }

  async volumeList(labels: string[]): Promise<VolumeSummary[]> {
    const res = await this.#json<{ Volumes: VolumeSummary[] | null }>("GET", "/volumes", {
      query: { filters: JSON.stringify({ label: labels }) },
    });
    return res.Volumes ?? [];
  }

  async volumeInspect(name: string): Promise<VolumeSummary | undefined> {
    try {
      return await this.#json<VolumeSummary>("GET", `/volumes/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof EngineNotFoundError) return undefined;
      throw error;
    }
  }

  volumeCreate(body: VolumeCreateBody): Promise<VolumeSummary> {
    return this.#json("POST", "/volumes/create", { json: body });
  }

  async volumeRemove(name: string): Promise<void> {
    try {
      await this.#none("DELETE", `/volumes/${encodeURIComponent(name)}`, {
        query: { force: true },
      });
    } catch (error) {
      if (!(error instanceof EngineNotFoundError)) throw error;
    }
  }

  // --- swarm membership (the lab; cli/lab) --------------------------------
  /** `POST /swarm/init`: makes this engine a one-manager swarm; returns its node id. */
  swarmInit(body: {
    ListenAddr: string;
    AdvertiseAddr: string;
    DataPathAddr?: string;
    DefaultAddrPool?: string[];
    SubnetSize?: number;
  }): Promise<string> {
    return this.#json("POST", "/swarm/init", { json: body });
  }

  /** `POST /swarm/join`: joins the swarm a manager at `RemoteAddrs` leads. */
  swarmJoin(body: {
    ListenAddr: string;
    AdvertiseAddr: string;
    RemoteAddrs: string[];
    JoinToken: string;
  }): Promise<void> {
    return this.#none("POST", "/swarm/join", { json: body });
  }

  /** `GET /swarm` (managers only): the cluster's id and join tokens. */
  swarmInspect(): Promise<{ ID: string; JoinTokens: { Worker: string; Manager: string } }> {
    return this.#json("GET", "/swarm");
  }

  /** `GET /nodes` (managers only): the swarm's nodes as the manager sees them. */
  nodeList(): Promise<SwarmNode[]> {
    return this.#json("GET", "/nodes");
  }

  /** Streams engine events matching the filters until the signal aborts. */
  async *events(
    filters: Record<string, string[]>,
    signal: AbortSignal,
  ): AsyncGenerator<Record<string, unknown>> {
    const res = await this.request("GET", "/events", {
      query: { filters: JSON.stringify(filters) },
      timeoutMs: 0,
    });
    const body = res.body;
    signal.addEventListener("abort", () => body?.cancel().catch(() => {}), { once: true });
    for await (const ev of readJsonLines(body, signal)) yield ev as Record<string, unknown>;
  }
}

/**
 * Recipes of the registry-free images (nginx, OPA, the app, and Prometheus when enabled) (pure data): which host files go
 * where, the users, and the Dockerfile. Each image is `FROM scratch` plus one
 * `ADD rootfs.tar /` so file ownership comes from the tar headers.
 */

export type ImageRole = "nginx" | "opa" | "app" | "prometheus";

export const IMAGE_USERS: Record<ImageRole, { uid: number; name: string }> = {
  app: { uid: 10001, name: "app" },
  nginx: { uid: 10002, name: "nginx" },
  opa: { uid: 10003, name: "opa" },
  prometheus: { uid: 10004, name: "prometheus" },
};

/** A file copied from the host (`src`) into the image (`dest`). */
export interface HostFile {
  src: string;
  dest: string;
  mode: number;
  /** Resolve the binary's shared libraries with ldd and copy them too. */
  withLibraries?: boolean;
}

export interface ImageRecipe {
  role: ImageRole;
  /** The tags the manifest names, e.g. `nginx:latest`. */
  tags: string[];
  hostFiles: HostFile[];
  /** Files made from text. */
  textFiles: { dest: string; text: string; mode: number; uid?: number }[];
  dirs: { dest: string; mode: number; uid: number }[];
  dockerfile: string;
}

/**
 * Debian's nginx modules the generated nginx.conf loads (`load_module`, same
 * absolute paths in the image): the Lua module, which counts what clients
 * receive at the edge, and the NDK it needs. From libnginx-mod-http-lua and
 * libnginx-mod-http-ndk (build/bootstrap.sh); their libraries come via ldd.
 */
export const NGINX_MODULES: readonly string[] = Object.freeze([
  "/usr/lib/nginx/modules/ndk_http_module.so",
  "/usr/lib/nginx/modules/ngx_http_lua_module.so",
]);

/** Where lua-resty-core and lua-resty-lrucache put their Lua files (the module requires them). */
export const LUA_SHARE_DIR = "/usr/share/lua/5.1";

export interface RecipeInputs {
  /** The Prometheus tag only when its image is wanted (`prometheus.enabled`). */
  tags: Record<Exclude<ImageRole, "prometheus">, string> & { prometheus?: string };
  /** Host paths of the binaries. */
  nginxBin: string;
  /** Host paths of the Lua files under LUA_SHARE_DIR, copied to the same paths in the nginx image. */
  luaFiles: readonly string[];
  busyboxBin: string;
  opaBin: string;
  denoBin: string;
  /** The bundled service (`deno bundle service/main.ts`). */
  appBundle: string;
  /** Debian's prometheus binary (package prometheus, 2.42; links libc only). */
  prometheusBin?: string;
}

function passwd(role: ImageRole): string {
  const u = IMAGE_USERS[role];
  return `root:x:0:0:root:/root:/sbin/nologin\n${u.name}:x:${u.uid}:${u.uid}:${u.name}:/tmp:/sbin/nologin\n`;
}

function group(role: ImageRole): string {
  const u = IMAGE_USERS[role];
  return `root:x:0:\n${u.name}:x:${u.uid}:\n`;
}

function base(role: ImageRole) {
  return {
    textFiles: [
      { dest: "etc/passwd", text: passwd(role), mode: 0o644 },
      { dest: "etc/group", text: group(role), mode: 0o644 },
    ],
    dirs: [{ dest: "tmp", mode: 0o1777, uid: 0 }],
  };
}

/** nginx's own default site: answers `return 200` so the image works on its own. */
export const NGINX_DEFAULT_CONF = `# Default configuration of the SwiftDeploy nginx image.
# swiftdeploy mounts the generated nginx.conf and starts nginx with -c.
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  access_log off;
  server_tokens off;
  default_type text/plain;
  server {
    listen 8080;
    location / { return 200 "ok\\n"; }
  }
}
`;

/**
 * The Prometheus image's own configuration: it scrapes itself, so the image
 * works on its own. swiftdeploy starts it with `--config.file` naming the
 * generated prometheus.yml in its read-only config folder.
 */
export const PROMETHEUS_DEFAULT_CONF = `# Default configuration of the SwiftDeploy Prometheus image.
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:9090"]
`;

/** Flags the Prometheus image starts with when the plan gives none (prom/prometheus's, our paths). */
export const PROMETHEUS_DEFAULT_FLAGS = [
  "--config.file=/etc/prometheus/prometheus.yml",
  "--storage.tsdb.path=/prometheus",
  "--web.listen-address=0.0.0.0:9090",
];

/**
 * The image's own healthcheck (the plan sets one with the manifest's port):
 * busybox's wget costs milliseconds a check where a second Deno process
 * costs a runtime start.
 */
export const APP_HEALTHCHECK = [
  "/bin/busybox",
  "sh",
  "-c",
  "wget -q -O /dev/null http://127.0.0.1:${APP_PORT:-3000}/healthz",
];

export const APP_ENTRYPOINT = [
  "/bin/deno",
  "run",
  "--allow-net",
  "--allow-env",
  "--allow-read=/app",
  "--cached-only",
  "--no-prompt",
  "/app/app.js",
];

/**
 * The recipes: nginx, OPA and the app always; Prometheus when both its tag
 * and `prometheusBin` are given. Prometheus is Debian's Go binary (it links
 * libc only, packed with what `ldd` lists) plus busybox for the healthcheck
 * (`wget /-/ready`, the same check prom/prometheus's busybox base allows),
 * running as 10004 with its TSDB in `/prometheus` (a tmpfs in the stack).
 */
export function imageRecipes(inputs: RecipeInputs): ImageRecipe[] {
  const nginx = IMAGE_USERS.nginx.uid;
  const app = IMAGE_USERS.app.uid;
  const opa = IMAGE_USERS.opa.uid;
  const nginxBase = base("nginx");
  const opaBase = base("opa");
  const appBase = base("app");
  const recipes: ImageRecipe[] = [
    {
      role: "nginx",
      tags: [inputs.tags.nginx],
      hostFiles: [
        { src: inputs.nginxBin, dest: "usr/sbin/nginx", mode: 0o755, withLibraries: true },
        { src: inputs.busyboxBin, dest: "bin/busybox", mode: 0o755 },
        ...NGINX_MODULES.map((src) => ({
          src,
          dest: src.replace(/^\/+/, ""),
          mode: 0o644,
          withLibraries: true,
        })),
        ...inputs.luaFiles.map((src) => ({ src, dest: src.replace(/^\/+/, ""), mode: 0o644 })),
      ],
      textFiles: [
        ...nginxBase.textFiles,
        { dest: "etc/nginx/nginx.conf", text: NGINX_DEFAULT_CONF, mode: 0o644 },
      ],
      dirs: [
        ...nginxBase.dirs,
        { dest: "etc/nginx/swiftdeploy", mode: 0o755, uid: 0 },
        { dest: "var/log/nginx", mode: 0o755, uid: nginx },
        { dest: "var/lib/nginx", mode: 0o755, uid: nginx },
        { dest: "run", mode: 0o755, uid: nginx },
      ],
      dockerfile: [
        "FROM scratch",
        "ADD rootfs.tar /",
        "ENV PATH=/usr/sbin:/bin",
        `USER ${nginx}:${nginx}`,
        "EXPOSE 8080",
        "STOPSIGNAL SIGQUIT",
        `CMD ["nginx", "-g", "daemon off;"]`,
        "",
      ].join("\n"),
    },
    {
      role: "opa",
      tags: [inputs.tags.opa],
      hostFiles: [{ src: inputs.opaBin, dest: "opa", mode: 0o755 }],
      textFiles: opaBase.textFiles,
      dirs: opaBase.dirs,
      dockerfile: [
        "FROM scratch",
        "ADD rootfs.tar /",
        `USER ${opa}:${opa}`,
        "EXPOSE 8181",
        `ENTRYPOINT ["/opa"]`,
        `CMD ["run", "--server", "--addr=0.0.0.0:8181"]`,
        "",
      ].join("\n"),
    },
    {
      role: "app",
      tags: [inputs.tags.app],
      hostFiles: [
        { src: inputs.denoBin, dest: "bin/deno", mode: 0o755, withLibraries: true },
        { src: inputs.busyboxBin, dest: "bin/busybox", mode: 0o755 },
        { src: inputs.appBundle, dest: "app/app.js", mode: 0o644 },
      ],
      textFiles: appBase.textFiles,
      dirs: appBase.dirs,
      dockerfile: [
        "FROM scratch",
        "ADD rootfs.tar /",
        "ENV PATH=/bin DENO_DIR=/tmp/deno HOME=/tmp DENO_NO_UPDATE_CHECK=1 NO_COLOR=1",
        `USER ${app}:${app}`,
        "EXPOSE 3000",
        "STOPSIGNAL SIGTERM",
        `HEALTHCHECK --interval=2s --timeout=3s --start-period=10s --retries=15 CMD ${
          JSON.stringify(APP_HEALTHCHECK)
        }`,
        `ENTRYPOINT ${JSON.stringify(APP_ENTRYPOINT)}`,
        "",
      ].join("\n"),
    },
  ];
  if (inputs.tags.prometheus !== undefined && inputs.prometheusBin !== undefined) {
    const prometheus = IMAGE_USERS.prometheus.uid;
    const promBase = base("prometheus");
    recipes.push({
      role: "prometheus",
      tags: [inputs.tags.prometheus],
      hostFiles: [
        { src: inputs.prometheusBin, dest: "bin/prometheus", mode: 0o755, withLibraries: true },
        { src: inputs.busyboxBin, dest: "bin/busybox", mode: 0o755 },
      ],
      textFiles: [
        ...promBase.textFiles,
        { dest: "etc/prometheus/prometheus.yml", text: PROMETHEUS_DEFAULT_CONF, mode: 0o644 },
      ],
      dirs: [
        ...promBase.dirs,
        { dest: "etc/prometheus/swiftdeploy", mode: 0o755, uid: 0 },
        { dest: "prometheus", mode: 0o700, uid: prometheus },
      ],
      dockerfile: [
        "FROM scratch",
        "ADD rootfs.tar /",
        "ENV PATH=/bin",
        `USER ${prometheus}:${prometheus}`,
        "EXPOSE 9090",
        "WORKDIR /prometheus",
        `ENTRYPOINT ["/bin/prometheus"]`,
        `CMD ${JSON.stringify(PROMETHEUS_DEFAULT_FLAGS)}`,
        "",
      ].join("\n"),
    });
  }
  return recipes;
}

/** Splits `repo[:tag]` (a registry port is not a tag) into repo and tag. */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/** Parses `ldd` output into the absolute paths of the libraries it lists. */
export function parseLdd(output: string): string[] {
  const paths = new Set<string>();
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    const arrow = line.match(/=>\s+(\/\S+)\s+\(/);
    if (arrow?.[1]) paths.add(arrow[1]);
    else if (line.startsWith("/")) paths.add(line.split(/\s+/)[0]!);
    else if (/=> not found/.test(line)) {
      throw new Error(`Missing shared library: ${line}`);
    }
  }
  return [...paths].sort();
}

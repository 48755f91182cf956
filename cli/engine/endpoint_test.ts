import assert from "node:assert/strict";
import { ExitCode } from "../errors/mod.ts";
import { candidateEndpoints, DockerHostError, parseDockerHost } from "./_endpoint.ts";

Deno.test("parseDockerHost() accepts unix sockets and tcp addresses", () => {
  assert.deepEqual(parseDockerHost("unix:///run/docker.sock"), {
    kind: "unix",
    path: "/run/docker.sock",
    label: "unix:///run/docker.sock",
  });
  assert.deepEqual(parseDockerHost("tcp://10.0.0.5:2376"), {
    kind: "tcp",
    host: "10.0.0.5",
    port: 2376,
    label: "tcp://10.0.0.5:2376",
  });
  assert.equal((parseDockerHost("tcp://docker.example") as { port: number }).port, 2375);
  assert.equal((parseDockerHost("tcp://[::1]:2375/") as { host: string }).host, "[::1]");
});

Deno.test("parseDockerHost() throws a typed DOCKER_HOST error for every malformed kind", () => {
  const cases: [string, RegExp][] = [
    ["tcp//x", /expected unix:\/\/\/PATH or tcp:\/\/HOST:PORT/],
    ["docker.sock", /expected unix/],
    ["./docker.sock", /expected unix/],
    ["/var/run/docker.sock", /needs the unix:\/\/ scheme \(unix:\/\/\/var\/run\/docker\.sock\)/],
    ["unix://", /socket path is empty/],
    ["unix://run/docker.sock", /"run\/docker\.sock" is not absolute/],
    ["unix://./docker.sock", /is not absolute/],
    ["ftp://host/x", /scheme "ftp" is not supported/],
    ["ssh://user@host", /scheme "ssh" is not supported/],
    ["tcp://", /host is empty/],
    ["tcp://:2375", /expected tcp:\/\/HOST:PORT/],
    ["tcp://host:port", /expected tcp:\/\/HOST:PORT/],
    ["tcp://host:0", /port 0 is not between 1 and 65535/],
    ["tcp://host:70000", /port 70000 is not between/],
    ["tcp://host:2375/v1.41", /expected tcp:\/\/HOST:PORT/],
    [" ", /expected unix/],
  ];
  for (const [value, detail] of cases) {
    assert.throws(
      () => parseDockerHost(value),
      (error: unknown) => {
        assert.ok(error instanceof DockerHostError, `${value}: ${error}`);
        assert.equal(error.code, "DOCKER_HOST_INVALID");
        assert.equal(error.exitCode, ExitCode.dockerHostInvalid);
        assert.equal(error.value, value);
        assert.ok(error.message.startsWith(`Invalid DOCKER_HOST "${value}": `), error.message);
        assert.match(error.message, detail);
        assert.match(error.hint ?? "", /unix:\/\/\/.*tcp:\/\//);
        return true;
      },
      value,
    );
  }
});

Deno.test("candidateEndpoints() reports a malformed DOCKER_HOST before any connection", () => {
  assert.throws(() => candidateEndpoints({ dockerHost: "tcp//x" }), DockerHostError);
  assert.equal(candidateEndpoints({}).length, 1);
});

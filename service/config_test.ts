import assert from "node:assert/strict";
import { ConfigError, DEFAULT_CONFIG, parseConfig } from "./config.ts";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("parseConfig() applies the defaults when no variable is set", () => {
  assert.deepEqual(parseConfig(envOf({})), {
    mode: "stable",
    version: "1.0.0",
    port: 3000,
    shutdownTimeoutSeconds: 10,
  });
  assert.deepEqual(parseConfig(envOf({})), { ...DEFAULT_CONFIG });
});

Deno.test("parseConfig() reads every variable when all are valid", () => {
  const config = parseConfig(envOf({
    MODE: "canary",
    APP_VERSION: "2.3.4-rc.1+build_7",
    APP_PORT: "65535",
    SHUTDOWN_TIMEOUT_SECONDS: "2.5",
  }));
  assert.deepEqual(config, {
    mode: "canary",
    version: "2.3.4-rc.1+build_7",
    port: 65535,
    shutdownTimeoutSeconds: 2.5,
  });
});

Deno.test("parseConfig() accepts the bounds when APP_PORT is 1 and the timeout 0", () => {
  const config = parseConfig(envOf({ APP_PORT: "1", SHUTDOWN_TIMEOUT_SECONDS: "0" }));
  assert.equal(config.port, 1);
  assert.equal(config.shutdownTimeoutSeconds, 0);
});

const INVALID: readonly [string, string, RegExp][] = [
  ["MODE", "", /must be "stable" or "canary", got ""/],
  ["MODE", "Canary", /must be "stable" or "canary", got "Canary"/],
  ["MODE", " stable", /got " stable"/],
  ["MODE", "production", /got "production"/],
  ["APP_VERSION", "", /must be 1 to 64 letters/],
  ["APP_VERSION", "1.0 beta", /got "1.0 beta"/],
  ["APP_VERSION", "-1.0", /got "-1.0"/],
  ["APP_VERSION", "v".repeat(65), /must be 1 to 64/],
  ["APP_VERSION", "1.0\n", /got "1.0\\n"/],
  ["APP_PORT", "", /must be an integer between 1 and 65535, got ""/],
  ["APP_PORT", "0", /got "0"/],
  ["APP_PORT", "65536", /got "65536"/],
  ["APP_PORT", "80a", /got "80a"/],
  ["APP_PORT", "-1", /got "-1"/],
  ["APP_PORT", "3000.5", /got "3000.5"/],
  ["APP_PORT", " 3000", /got " 3000"/],
  ["APP_PORT", "0x50", /got "0x50"/],
  ["SHUTDOWN_TIMEOUT_SECONDS", "", /between 0 and 3600, got ""/],
  ["SHUTDOWN_TIMEOUT_SECONDS", "-1", /got "-1"/],
  ["SHUTDOWN_TIMEOUT_SECONDS", "3601", /got "3601"/],
  ["SHUTDOWN_TIMEOUT_SECONDS", "ten", /got "ten"/],
  ["SHUTDOWN_TIMEOUT_SECONDS", "1e3", /got "1e3"/],
];

for (const [variable, value, message] of INVALID) {
  Deno.test(`parseConfig() throws a ConfigError naming ${variable} when it is ${JSON.stringify(value)}`, () => {
    assert.throws(
      () => parseConfig(envOf({ [variable]: value })),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, variable);
        assert.equal(error.value, value);
        assert.equal(error.exitCode, 2);
        assert.ok(
          error.message.startsWith(`Invalid environment variable ${variable}: `),
          error.message,
        );
        assert.match(error.message, message);
        assert.ok(!error.message.includes("\n"), "the message is one line");
        return true;
      },
    );
  });
}

Deno.test("parseConfig() reports MODE first when several variables are invalid", () => {
  assert.throws(
    () => parseConfig(envOf({ APP_PORT: "x", MODE: "y" })),
    (error: unknown) => error instanceof ConfigError && error.variable === "MODE",
  );
});

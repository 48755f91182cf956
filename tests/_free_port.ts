/** freePort() for the integration tests in this folder; it lives in testing/free_port.ts. */
export { freePort } from "../testing/free_port.ts";

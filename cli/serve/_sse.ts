/**
 * Server-Sent Events framing (WHATWG HTML, "Server-sent events", §9.2):
 * `id:`, `event:` and one `data:` line per line of the payload, a blank
 * line ends the event; a line starting with `:` is a comment (heartbeats).
 * Pure.
 *
 * Event ids of `/v1/events`: a history event's id is its line number in the
 * history (`"42"`); a status tick's id is the last history line sent before
 * it and the tick's number (`"42.7"`). A client that reconnects with
 * `Last-Event-ID: 42.7` (or `42`) is sent every history line after 42, in
 * order, then the live stream: resuming never skips or repeats a history
 * event. Status ticks are not replayed (the next tick is current anyway).
 *
 * @module
 */

/** One event as framed for the wire. */
export function sseFrame(event: { id?: string; event?: string; data: string }): string {
  let out = "";
  if (event.id !== undefined) out += `id: ${event.id.replace(/[\r\n]/g, "")}\n`;
  if (event.event !== undefined) out += `event: ${event.event.replace(/[\r\n]/g, "")}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + "\n";
}

/** A comment line: keeps proxies and clients from timing the stream out. */
export const SSE_HEARTBEAT = ": keep-alive\n\n";

/**
 * The history line a `Last-Event-ID` resumes after: the integer before any
 * `.`; undefined when absent or not of our form (the stream then starts live).
 */
export function resumeLine(lastEventId: string | null | undefined): number | undefined {
  if (lastEventId === null || lastEventId === undefined) return undefined;
  const m = /^(\d{1,15})(?:\.\d{1,15})?$/.exec(lastEventId.trim());
  return m ? Number(m[1]) : undefined;
}

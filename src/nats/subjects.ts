/**
 * The NATS subjects of a hopwire service, as pure functions
 * (`docs/scaling.md` shows the whole mapping).
 *
 * - `<subject>`: requests and messages to the service, one queue group, so
 *   each goes to one server;
 * - `<subject>._hw.ctl`: clients' hellos and goodbyes, to every server;
 * - `<subject>._hw.all`: `sendAll()`, to every client;
 * - `<inbox>.m`: messages and requests to one side (a client's, or a
 *   server's, own inbox); `<inbox>.<id>`: the reply to its request `id`.
 *
 * Every hopwire message carries a reply subject `<inbox>.m` or
 * `<inbox>.<id>`, so the receiver knows the sender's inbox.
 *
 * @module
 */

/** The queue group the servers of a service share. */
export function queueGroup(subject: string): string {
  return subject;
}

/** Where clients say hello and goodbye. */
export function controlSubject(subject: string): string {
  return `${subject}._hw.ctl`;
}

/** Where `sendAll()` publishes. */
export function broadcastSubject(subject: string): string {
  return `${subject}._hw.all`;
}

/** Where one side receives messages and requests. */
export function directSubject(inbox: string): string {
  return `${inbox}.m`;
}

/** Where the reply to request `id` goes. */
export function replySubject(inbox: string, id: number): string {
  return `${inbox}.${id}`;
}

/** The sender's inbox, from a reply subject (its last token dropped); `undefined` when there is none. */
export function senderOf(reply: string | undefined): string | undefined {
  if (reply === undefined) return undefined;
  const dot = reply.lastIndexOf('.');
  return dot <= 0 ? undefined : reply.slice(0, dot);
}

/** What arrived at an inbox: a direct message (`'m'`), the reply to a request id, or nothing of ours. */
export function inboxToken(subject: string, inbox: string): 'm' | number | undefined {
  if (subject.length <= inbox.length + 1 || !subject.startsWith(inbox) || subject[inbox.length] !== '.') return undefined;
  const token = subject.slice(inbox.length + 1);
  if (token === 'm') return 'm';
  const id = Number(token);
  return /^[1-9]\d*$/.test(token) && id <= 0xffff_ffff ? id : undefined;
}

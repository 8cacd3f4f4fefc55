/**
 * The public shapes of a {@link Client}: its states, its events and their
 * arguments, and the contexts of the messages and requests it receives.
 * Types only (the `Client` it names is a type-only import), so the client's
 * collaborators can name them without loading the client.
 *
 * @module
 */
import type { Client } from './client.js';
import type { Endpoint } from './options.js';
import type { DisconnectInfo, MessageContext, RequestContext } from './types.js';

/** Where a client is in its life. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** What `reconnecting` events carry. */
export interface ReconnectInfo {
  /** Attempts since the connection was lost, starting at 1. */
  readonly attempt: number;
  /** Milliseconds until this attempt. */
  readonly delay: number;
}

/** The context of a message a client receives. */
export interface ClientMessageContext extends MessageContext {
  /** The client it arrived on. */
  readonly client: Client;
}

/** The context of a request a client answers. */
export interface ClientRequestContext extends RequestContext {
  /** The client it arrived on. */
  readonly client: Client;
}

/** What `messages()` yields. */
export interface ReceivedMessage {
  /** The message. */
  readonly message: unknown;
  /** Its sender's type name (`''` for plain values). */
  readonly type: string;
  /** Its full context. */
  readonly ctx: ClientMessageContext;
}

/** The events of a {@link Client}, with their listener arguments. */
export interface ClientEvents {
  /** Connected (after the hello), the first time and after each reconnect; `server` says which. */
  connect: [server: Endpoint];
  /** The connection ended. */
  disconnect: [info: DisconnectInfo, server: Endpoint];
  /** A reconnect attempt is scheduled. */
  reconnecting: [info: ReconnectInfo, server: Endpoint];
  /** A message arrived. */
  message: [message: unknown, ctx: ClientMessageContext];
  /** Something went wrong that no promise reports. Emitted only when someone listens. */
  error: [error: Error];
  /** `close()` finished. */
  close: [];
}

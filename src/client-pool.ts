/**
 * A client with several servers (`servers` option): one child client per
 * server, sharing the parent's routes, whose events the parent emits with
 * the server they came from and whose messages feed the parent's iterators.
 * Connecting races the children; the state and the stats the parent shows
 * are made from theirs. Which child takes a send is {@link ServerPool}'s
 * choice.
 *
 * @module
 */
import type { Client } from './client.js';
import { messageContext } from './client-context.js';
import type { ClientMessageContext, ClientState, ReconnectInfo } from './client-types.js';
import { ErrorCode, HopwireError } from './errors.js';
import type { ClientOptions, ResolvedClientOptions } from './options.js';
import { ServerPool } from './server-pool.js';
import { sumStats } from './client-stats.js';
import type { ClientStats } from './stats.js';

/** What a {@link ClientPool} needs from the client that holds it. */
export interface ClientPoolHost {
  /** The parent: it emits the children's events. */
  readonly client: Client;
  /** Moves the parent's own state along. */
  readonly setState: (state: ClientState) => void;
  /** Makes the child client of one server, sharing the parent's routes. */
  readonly child: (options: ClientOptions) => Client;
  /** The child is connected and not closed. */
  readonly connected: (child: Client) => boolean;
  /** The child is on its way to a connection (so a send can wait in its queue). */
  readonly waiting: (child: Client) => boolean;
  /** A child's message, with the parent's context, for the parent's iterators and `message` event. */
  readonly deliver: (value: unknown, ctx: ClientMessageContext) => void;
}

/** The child clients of a client with several servers; `pick()` chooses one by strategy. */
export class ClientPool extends ServerPool<Client> {
  readonly #host: ClientPoolHost;
  readonly #options: ResolvedClientOptions;

  /**
   * @param host - the parent's side
   * @param raw - the parent's options as given (each child gets them, with its server's endpoint)
   * @param options - the parent's resolved options
   */
  constructor(host: ClientPoolHost, raw: ClientOptions, options: ResolvedClientOptions) {
    super(children(host, raw, options), options.strategy, { connected: host.connected, waiting: host.waiting });
    this.#host = host;
    this.#options = options;
  }

  /** The state the parent shows, from its own (`own`) and its children's. */
  state(own: ClientState): ClientState {
    if (own === 'closed' || own === 'idle') return own;
    if (this.members.some((m) => m.connected)) return 'connected';
    if (this.members.some(this.#host.waiting)) return own === 'connecting' ? 'connecting' : 'reconnecting';
    return 'disconnected';
  }

  /**
   * Connects every server; resolves when one is up. The others keep trying
   * in the background. Rejects when each has failed its first attempt
   * (unless `reconnect.retryFirstConnect`), while they go on retrying.
   */
  connect(): Promise<void> {
    const members = this.members;
    if (members.some((m) => m.connected)) return Promise.resolve();
    const host = this.#host;
    const reconnectOff = this.#options.reconnect === false;
    host.setState('connecting');
    const retry = this.#options.reconnect !== false && this.#options.reconnect.retryFirstConnect;
    return new Promise<void>((resolve, reject) => {
      let failed = 0;
      const cleanup = (): void => {
        for (const m of members) {
          m.off('connect', onConnect);
          m.off('reconnecting', onRetry);
        }
      };
      const onConnect = (): void => {
        cleanup();
        host.setState('connected');
        resolve();
      };
      const onRetry = (info: ReconnectInfo): void => {
        if (info.attempt !== 1 || retry) return;
        if (++failed < members.length) return;
        cleanup();
        reject(new HopwireError(ErrorCode.NOT_CONNECTED, `none of the ${members.length} servers answered${reconnectOff ? '' : '; still trying'}`));
      };
      for (const m of members) {
        m.on('connect', onConnect);
        m.on('reconnecting', onRetry);
        // With reconnect off a child's first failure rejects its connect(): count it like a first retry.
        m.connect().catch(() => {
          if (reconnectOff) onRetry({ attempt: 1, delay: 0 });
        });
      }
    });
  }

  /** The children's figures summed (`connectedMs`: the longest), with the parent's `state`. */
  stats(state: ClientState): ClientStats {
    return sumStats(state, this.members.map((m) => m.stats()));
  }
}

/** One child client per server; each feeds the parent's events and iterators. */
function children(host: ClientPoolHost, raw: ClientOptions, options: ResolvedClientOptions): Client[] {
  const { servers, strategy, ...rest } = raw;
  const parent = host.client;
  const reconnect = options.reconnect === false ? false : { ...options.reconnect, retryFirstConnect: true };
  return options.servers.map((endpoint) => {
    const child = host.child({ ...rest, ...endpoint, types: options.codec.registry, reconnect });
    child.on('connect', () => {
      parent.emit('connect', endpoint);
    });
    child.on('disconnect', (info) => {
      parent.emit('disconnect', info, endpoint);
    });
    child.on('reconnecting', (info) => {
      parent.emit('reconnecting', info, endpoint);
    });
    child.on('message', (value, ctx) => {
      // the child already ran the shared typed routes; here: iterators and the event
      host.deliver(value, messageContext(ctx, parent, ctx.reply));
    });
    child.on('error', (err) => {
      if (parent.listenerCount('error') > 0) parent.emit('error', err);
    });
    return child;
  });
}

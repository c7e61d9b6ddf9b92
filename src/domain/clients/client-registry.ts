// Clients served from memory: /token never reads the database to authenticate a client.
// Changes made anywhere (this process, the CLI, another instance) bump a counter in the database;
// refresh() reloads the table when the counter moved, so every instance converges within one poll.
// Reloads are single-flight and never go back to a lower version: an older read that finishes late
// cannot put back a client that was just disabled.
import type { ClientRecord, ClientRepository } from "../../storage/clients.js";
import { singleFlight } from "../poller.js";

export class ClientRegistry {
  readonly #repo: ClientRepository;
  #clients = new Map<string, ClientRecord>();
  #version = -1;
  readonly #reload = singleFlight(() => this.#load());

  constructor(repo: ClientRepository) {
    this.#repo = repo;
  }

  get(clientId: string): ClientRecord | undefined {
    return this.#clients.get(clientId);
  }

  /** The longest per-client access-token lifetime (0 when no client overrides the default). */
  maxTokenTtlSeconds(): number {
    let max = 0;
    for (const c of this.#clients.values()) max = Math.max(max, c.tokenTtlSeconds ?? 0);
    return max;
  }

  /**
   * Reloads every client when the stored version is newer than the one in memory. Resolves once a
   * reload that started after this call is done, so a caller that just wrote sees its write.
   */
  refresh(): Promise<void> {
    return this.#reload();
  }

  async #load(): Promise<void> {
    // Version first: a change landing between the two reads makes the next refresh reload again.
    // Versions only grow (cache-versions.ts): a lower one is a stale answer, never applied.
    const version = await this.#repo.version();
    if (version <= this.#version) return;
    const all = await this.#repo.listAll();
    this.#clients = new Map(all.map((c) => [c.id, c]));
    this.#version = version;
  }
}

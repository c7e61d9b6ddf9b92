// Clients served from memory: /token never reads the database to authenticate a client.
// Changes made anywhere (this process, the CLI, another instance) bump a counter in the database;
// refresh() reloads the table when the counter moved, so every instance converges within one poll.
import type { ClientRecord, ClientRepository } from "../../storage/clients.js";

export class ClientRegistry {
  readonly #repo: ClientRepository;
  #clients = new Map<string, ClientRecord>();
  #version = -1;

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

  /** Reloads every client when the stored version differs from the one in memory. */
  async refresh(): Promise<void> {
    // Version first: a change landing between the two reads makes the next refresh reload again.
    const version = await this.#repo.version();
    if (version === this.#version) return;
    const all = await this.#repo.listAll();
    this.#clients = new Map(all.map((c) => [c.id, c]));
    this.#version = version;
  }
}

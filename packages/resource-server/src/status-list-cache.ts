// Status lists kept in memory until they go stale, with single-flight refresh: however many
// requests find a list stale at once, one fetch serves them all.
import type { DecodedStatusList } from "./status-list.js";

export type LoadedStatusList = { list: DecodedStatusList; freshUntilMs: number };

type Entry = { loaded?: LoadedStatusList; pending?: Promise<LoadedStatusList> };

export class StatusListCache {
  readonly #entries = new Map<string, Entry>();
  readonly #load: (uri: string) => Promise<LoadedStatusList>;
  readonly #now: () => number;

  constructor(load: (uri: string) => Promise<LoadedStatusList>, now: () => number) {
    this.#load = load;
    this.#now = now;
  }

  /** The fresh list at `uri`: from memory, else from the fetch in flight, else from a new fetch. */
  get(uri: string): DecodedStatusList | Promise<DecodedStatusList> {
    let entry = this.#entries.get(uri);
    if (entry?.loaded && this.#now() < entry.loaded.freshUntilMs) return entry.loaded.list;
    if (!entry) {
      entry = {};
      this.#entries.set(uri, entry);
    }
    const current = entry;
    current.pending ??= this.#load(uri).then(
      (loaded) => {
        current.loaded = loaded;
        current.pending = undefined;
        return loaded;
      },
      (error: unknown) => {
        // Not cached: the next request tries again (still one fetch at a time).
        current.pending = undefined;
        throw error;
      },
    );
    return current.pending.then(({ list }) => list);
  }
}

/** What the SGX device part needs to know about the node, supplied by the node agent's watcher. */
export interface SgxNodeState {
  /** SGX device node host paths that exist now. */
  present: string[];
  /** AESM socket answering; null when AESM is not used on this node. */
  aesmAlive: boolean | null;
}

export interface SgxStateSource {
  current(): SgxNodeState;
  /** Calls `fn` on every change; returns unsubscribe. */
  subscribe(fn: (s: SgxNodeState) => void): () => void;
}

/** A fixed or manually driven state source (tests, simulations). */
export function staticSgxState(initial: SgxNodeState): SgxStateSource & { set(s: SgxNodeState): void } {
  let state = initial;
  const subs = new Set<(s: SgxNodeState) => void>();
  return {
    current: () => state,
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    set(s) {
      state = s;
      for (const fn of subs) fn(s);
    },
  };
}

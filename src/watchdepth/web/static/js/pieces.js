// A page is a set of pieces (cards, chart, table, ...). Each piece has a key computed
// from the route; on a URL change only the pieces whose key changed are fetched and
// drawn again, each with its own AbortController. The page is "drawn" when every
// piece it started has finished.

import { isAbort } from "./api.js";
import { errorMessage } from "./components.js";
import { replace } from "./dom.js";

/**
 * pieces: [{name, key(route) -> string, run(route, signal) -> Promise, slot?: element}]
 * Returns {update(route) -> Promise, destroy()}.
 */
export function piecesRunner(pieces) {
  const keys = new Map();
  const controllers = new Map();
  const running = new Map();

  function start(piece, route) {
    controllers.get(piece.name)?.abort();
    const controller = new AbortController();
    controllers.set(piece.name, controller);
    if (piece.slot) piece.slot.setAttribute("aria-busy", "true");
    // run() starts at once (its requests go out before the caller draws anything else).
    const promise = new Promise((resolve) => { resolve(piece.run(route, controller.signal)); })
      .catch((error) => {
        if (isAbort(error) || controller.signal.aborted) return;
        keys.delete(piece.name);
        if (piece.slot) replace(piece.slot, errorMessage(error));
        else console.warn(`${piece.name}:`, error);
      })
      .finally(() => {
        if (piece.slot && controllers.get(piece.name) === controller) piece.slot.setAttribute("aria-busy", "false");
      });
    running.set(piece.name, promise);
    return promise;
  }

  return {
    update(route) {
      const started = [];
      for (const piece of pieces) {
        const key = piece.key(route);
        if (key === null) continue;
        if (keys.get(piece.name) === key) continue;
        keys.set(piece.name, key);
        started.push(start(piece, route));
      }
      return Promise.all(started);
    },
    /** The latest run of a piece (another piece may wait on its data). */
    running(name) {
      return running.get(name) ?? Promise.resolve();
    },
    destroy() {
      for (const c of controllers.values()) c.abort();
    },
  };
}

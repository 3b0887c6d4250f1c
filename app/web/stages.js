// The stage graph as this server describes it (GET /v1/stages): names, labels, dependencies,
// options and how the page shows each stage's results. Fetched once per page.

const EMPTY = { stages: [], default: [] };
let graph = null;

/** The server's stages ({stages, default}); an empty graph when it cannot be read (retried next time). */
export function loadStages() {
  if (!graph) {
    graph = fetch("/v1/stages")
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
      .catch(() => {
        graph = null;
        return EMPTY;
      });
  }
  return graph;
}

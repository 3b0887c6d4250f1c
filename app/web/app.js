// Entry point: the API key, the upload form, the job list and the job panel (#job/<id>).

import { getKey, setKey } from "./api.js";
import { byId } from "./dom.js";
import { JobList } from "./jobs.js";
import { Player } from "./player.js";
import { loadConfig, setupUpload } from "./upload.js";
import { JobView } from "./view.js";

function jobIdFromHash() {
  const match = /^#job\/(job_[0-9a-f]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

function setupKey(onSaved) {
  const form = byId("key-form");
  const input = byId("api-key");
  const status = byId("key-status");
  input.value = getKey();
  status.textContent = getKey() ? "Key saved in this browser." : "";
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    status.textContent = input.value.trim() ? "Key saved in this browser." : "No key: requests go without one.";
    onSaved();
  });
  byId("key-clear").addEventListener("click", () => {
    setKey("");
    input.value = "";
    status.textContent = "Key removed from this browser.";
    onSaved();
  });
  return {
    needed(err) {
      if (err.code === "invalid_api_key") status.textContent = "The server does not accept this key.";
      else if (err.status === 401) status.textContent = "This server needs an API key: enter yours and save it.";
      else status.textContent = "This key may not see that job.";
      if (document.activeElement === document.body) input.focus();
    },
  };
}

function main() {
  const player = new Player();
  let jobs = null;
  const view = new JobView(player, {
    onChanged: () => jobs.refresh(),
    onDeleted: (name) => jobs.notify(`Deleted ${name}.`),
  });
  const key = setupKey(() => {
    jobs.refresh();
    const id = jobIdFromHash();
    view.jobId = null; // reopen with the new key
    view.show(id);
  });
  jobs = new JobList({ onJob: (job) => view.update(job), onAuthNeeded: (err) => key.needed(err) });

  const route = () => {
    const id = jobIdFromHash();
    jobs.select(id);
    view.show(id);
  };
  window.addEventListener("hashchange", route);
  setupUpload((job) => {
    location.hash = `#job/${job.id}`;
    jobs.refresh();
  });
  loadConfig();
  route();
  jobs.refresh();
}

main();

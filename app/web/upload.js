// The upload form: a file (dropped or chosen), the stages to run and the subtitle options.

import { ApiError, uploadJob } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { loadStages } from "./stages.js";

let needs = {}; // stage -> the stages it needs (run first by the server)
let subtitleStage = null; // the stage whose options the language and profile choices are

/** The stages the server will run for this choice: the chosen ones and what they need. */
function planned(stages) {
  const out = new Set();
  const visit = (name) => {
    if (out.has(name)) return;
    out.add(name);
    for (const dep of needs[name] || []) visit(dep);
  };
  stages.forEach(visit);
  return out;
}

async function pageConfig() {
  try {
    const response = await fetch("/web/config.json");
    if (response.ok) return await response.json();
  } catch {
    // no profiles to offer
  }
  return { subtitle_stage: null, profiles: [], default_profile: "" };
}

/** Fill the stage checkboxes from /v1/stages and the profiles from /web/config.json. */
export async function loadConfig() {
  const [graph, config] = await Promise.all([loadStages(), pageConfig()]);
  subtitleStage = config.subtitle_stage;
  needs = Object.fromEntries(graph.stages.map((s) => [s.name, s.needs || []]));
  const chosen = new Set(graph.default);
  const stages = clear(byId("stage-options"));
  if (!graph.stages.length) stages.append(el("p", { class: "hint error", text: "Could not load the stages." }));
  for (const stage of graph.stages) {
    const id = `stage-${stage.name}`;
    const box = el("input", { type: "checkbox", id, name: "stages", value: stage.name,
                              "aria-describedby": stage.description ? `${id}-desc` : null });
    box.checked = chosen.has(stage.name);
    stages.append(el("div", { class: "check" },
      box, el("label", { for: id, text: stage.label || stage.name }),
      stage.description ? el("span", { id: `${id}-desc`, class: "hint", text: stage.description }) : null));
  }
  const profile = clear(byId("profile"));
  for (const p of config.profiles) {
    const option = el("option", { value: p.name, text: p.name, title: p.description });
    option.selected = p.name === config.default_profile;
    profile.append(option);
  }
}

function chosenFile(input, dropped) {
  return dropped || (input.files && input.files[0]) || null;
}

/** Wire the form. onSubmitted(job) is called with the new job. */
export function setupUpload(onSubmitted) {
  const form = byId("upload-form");
  const input = byId("file");
  const drop = byId("drop");
  const fileName = byId("file-name");
  const message = byId("upload-message");
  const progress = byId("upload-progress");
  const button = byId("upload-button");
  let dropped = null;

  const showFile = (file) => {
    fileName.textContent = file ? `Chosen: ${file.name} (${(file.size / 1e6).toFixed(1)} MB)` : "";
  };
  input.addEventListener("change", () => {
    dropped = null;
    showFile(chosenFile(input, null));
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) {
      dropped = file;
      input.value = "";
      showFile(file);
    }
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = chosenFile(input, dropped);
    const stages = [...form.querySelectorAll("input[name=stages]:checked")].map((b) => b.value);
    message.classList.remove("error");
    if (!file) {
      message.textContent = "Choose a video file first (or drop one on the box).";
      message.classList.add("error");
      input.focus();
      return;
    }
    if (!stages.length) {
      message.textContent = "Choose at least one stage.";
      message.classList.add("error");
      return;
    }
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("stages", stages.join(","));
    if (subtitleStage && planned(stages).has(subtitleStage)) {
      data.append("options", JSON.stringify({
        [subtitleStage]: { language: byId("language").value, profile: byId("profile").value || undefined },
      }));
    }
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    message.textContent = `Uploading ${file.name}…`;
    try {
      const job = await uploadJob(data, (f) => { progress.value = f; });
      message.textContent = `Uploaded ${file.name} as job ${job.id}.`;
      input.value = "";  // keep the chosen stages and options for the next upload
      dropped = null;
      showFile(null);
      onSubmitted(job);
    } catch (err) {
      message.textContent = err instanceof ApiError ? `Not accepted: ${err.message}` : String(err);
      message.classList.add("error");
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  });
}

// The job panel: status and stage progress, then the player, transcript and each stage's results.
// Each result section shows only when its stage ran; missing or unfamiliar data is skipped quietly.

import { ApiError, apiFetch, fetchObjectUrl, getJson, getKey, postJson } from "./api.js";
import { byId, clear, el, formatTime, percent } from "./dom.js";
import { loadStages } from "./stages.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
// What an on-screen text event's flags mean (ocr.json; pipelines/ocr/scripts.py, pipelines/ocr/cut.py).
const OCR_FLAGS = {
  "script-uncertain": "OCR was unsure of its script (another alphabet read as Latin look-alikes?)",
  cut: "part of it was hidden on screen (a bar or panel over it, the frame's edge), so the reading may be wrong or incomplete",
};

function stageFiles(stage) {
  return (stage && stage.files) || [];
}

function findFile(stage, test) {
  return stageFiles(stage).find((f) => test(f.name)) || null;
}

async function jsonFile(file) {
  if (!file) return null;
  try {
    return await getJson(file.url);
  } catch {
    return null;
  }
}

function seekButton(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "";
  return el("button", { type: "button", class: "seek", dataset: { start: seconds },
                        "aria-label": `Play from ${formatTime(seconds)}` }, formatTime(seconds));
}

function number(value, digits = 2) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : "";
}

export class JobView {
  constructor(player, { onChanged, onDeleted }) {
    this.player = player;
    this.onChanged = onChanged;
    this.onDeleted = onDeleted;
    this.panel = byId("job-panel");
    this.empty = byId("empty-panel");
    this.jobId = null;
    this.resultFor = null;
    this.job = null;
    this.urls = []; // blob: URLs of this panel (the player keeps its own)
    byId("job-cancel").addEventListener("click", () => this.cancel());
    byId("job-delete").addEventListener("click", () => this.remove());
    this.panel.addEventListener("click", (e) => {
      const seek = e.target.closest("button.seek[data-start]");
      if (seek) {
        this.player.seek(Number(seek.dataset.start));
        this.player.video.scrollIntoView({ block: "nearest" });
      }
      const download = e.target.closest("a[data-download]");
      if (download && getKey()) {
        e.preventDefault();
        this.download(download);
      }
    });
  }

  /** Open a job (null closes the panel). */
  async show(id) {
    if (id === this.jobId) return;
    this.jobId = id;
    this.resultFor = null;
    this.job = null;
    this.player.reset();
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.panel.hidden = !id;
    this.empty.hidden = Boolean(id);
    if (!id) {
      document.title = "lessonlens";
      return;
    }
    for (const s of ["player-area", "ocr-section", "classify-section", "fit-section", "skipped-section",
                     "downloads-section"]) byId(s).hidden = true;
    clear(byId("job-stages"));
    byId("job-title").textContent = "Loading…";
    byId("job-status").textContent = "";
    this.setMessage("");
    this.panel.dataset.jobId = id;
    delete this.panel.dataset.status;
    delete this.panel.dataset.ready;
    try {
      await this.update(await getJson(`/v1/jobs/${id}`));
    } catch (err) {
      byId("job-title").textContent = "Job not available";
      this.setMessage(err.message, true);
    }
  }

  setMessage(text, error = false) {
    const message = byId("job-message");
    message.textContent = text;
    message.classList.toggle("error", error);
  }

  /** A fresh copy of a job (from the list's polling); re-renders when it is the open one. */
  async update(job) {
    if (!job || job.id !== this.jobId) return;
    const first = this.job === null;
    this.job = job;
    const name = (job.source && job.source.filename) || job.id;
    byId("job-title").textContent = name;
    document.title = `${name} (${job.status}) – lessonlens`;
    const status = byId("job-status");
    status.textContent = job.status;
    status.className = `badge status-${job.status}`;
    this.panel.dataset.status = job.status;
    byId("job-cancel").hidden = TERMINAL.has(job.status);
    byId("job-delete").hidden = !TERMINAL.has(job.status); // the API refuses to delete a running job
    this.renderStages(job);
    if (job.status === "failed") this.setMessage(`The job failed: ${job.error || "no reason given"}`, true);
    else if (job.status === "cancelled") this.setMessage("The job was cancelled.");
    else if (!TERMINAL.has(job.status)) this.setMessage(`${percent(job.progress)} done.`);
    else this.setMessage("");
    if (first) byId("job-title").focus({ preventScroll: true });
    if (TERMINAL.has(job.status) && this.resultFor !== job.id) {
      this.resultFor = job.id;
      await this.renderResult(job);
    }
  }

  renderStages(job) {
    const list = clear(byId("job-stages"));
    for (const [name, st] of Object.entries(job.stage_states || {})) {
      const done = st.status === "succeeded" || st.status === "skipped";
      const value = done ? 1 : Number(st.progress) || 0;
      const detail = st.status === "skipped" ? st.reason : st.status === "failed" ? st.error : null;
      list.append(el("li", { class: `stage stage-${st.status}` },
        el("span", { class: "stage-name", text: name }),
        el("progress", { max: "1", value, "aria-label": `${name}: ${st.status}, ${percent(value)}` }),
        el("span", { class: "stage-status", text: st.seconds ? `${st.status} in ${number(st.seconds, 1)} s` : st.status }),
        detail ? el("span", { class: "hint stage-detail", text: detail }) : null));
    }
  }

  /** Delete the open (ended) job and its files, after asking; the panel closes. */
  async remove() {
    if (!this.jobId || !this.job) return;
    const name = (this.job.source && this.job.source.filename) || this.jobId;
    if (!confirm(`Delete ${name} and all its files? This cannot be undone.`)) return;
    try {
      await apiFetch(`/v1/jobs/${this.jobId}`, { method: "DELETE" });
    } catch (err) {
      this.setMessage(err.message, true);
      return;
    }
    location.hash = ""; // closes the panel (the hashchange route)
    this.onDeleted(name);
  }

  async cancel() {
    if (!this.jobId) return;
    try {
      await this.update(await postJson(`/v1/jobs/${this.jobId}/cancel`));
    } catch (err) {
      this.setMessage(err.message, true);
    }
    this.onChanged();
  }

  async renderResult(job) {
    let result;
    try {
      result = await getJson(`/v1/jobs/${job.id}/result`);
    } catch (err) {
      this.setMessage(err instanceof ApiError ? err.message : String(err), true);
      return;
    }
    if (job.id !== this.jobId) return;
    const stages = result.stages || {};
    const ok = (name) => stages[name] && stages[name].status === "succeeded";
    this.renderSkipped(stages);
    this.renderDownloads(job, result);

    // Each stage the server describes with a view fills one section: section -> {stage, view}.
    const shown = {};
    for (const info of (await loadStages()).stages) {
      if (info.view && ok(info.name)) shown[info.view.section] = { stage: stages[info.name], view: info.view };
    }
    const fileOf = (section, kind) => {
      const s = shown[section];
      return s && s.view[kind] ? findFile(s.stage, (n) => n === s.view[kind]) : null;
    };
    const [transcript, screenData, verdictData, fitData] = await Promise.all(
      ["transcript", "screen_text", "verdict", "fit"].map((section) => jsonFile(fileOf(section, "data"))));
    if (job.id !== this.jobId) return;
    if (shown.screen_text) this.renderOcr(shown.screen_text.stage, screenData);
    if (shown.verdict) this.renderClassify(shown.verdict.stage, verdictData);
    if (shown.fit) this.renderFit(shown.fit.stage, fitData);

    const tracks = [];
    const vtt = fileOf("transcript", "track");
    const summary = (shown.transcript && shown.transcript.stage.summary) || {};
    const lang = summary.language || "und";
    this.renderSpeechWarning(summary);
    const captionsVtt = fileOf("screen_text", "captions");
    const translated = vtt || captionsVtt ? await this.translationTracks(job) : { subtitles: [], captions: [] };
    if (vtt) tracks.push({ path: vtt.url, label: `Subtitles (${lang})`, lang, kind: "subtitles" });
    if (vtt) tracks.push(...translated.subtitles);
    // Burned-in captions read off the frames: a subtitle track of their own, in the language switch.
    const hardsubs = screenData && screenData.hardsubs;
    const captionCues = hardsubs && Array.isArray(hardsubs.cues) ? hardsubs.cues : [];
    if (captionsVtt) {
      tracks.push({ path: captionsVtt.url, label: "Burned-in captions", lang: "und-x-burned", kind: "subtitles",
                    cues: captionCues });
      tracks.push(...translated.captions);
    }
    const screenVtt = fileOf("screen_text", "track");
    if (screenVtt) tracks.push({ path: screenVtt.url, label: "On-screen text", lang, kind: "onscreen" });
    byId("show-onscreen").parentElement.hidden = !screenVtt;
    byId("show-subtitles").parentElement.hidden = !vtt && !captionsVtt;
    // Also for failed and cancelled jobs: the source still plays, with whatever tracks exist.
    byId("player-area").hidden = false;
    const speech = (transcript && Array.isArray(transcript.cues)) ? transcript.cues : [];
    // Without speech subtitles, the burned-in captions are the first track and the transcript.
    const cues = vtt || !captionsVtt ? speech : captionCues;
    let empty = shown.transcript ? "No speech was found." : "No transcript: its stage did not finish.";
    // Captions asked for (hardsubs "on") where none were read: say why, not that a stage failed.
    if (!vtt && captionsVtt) empty = `No burned-in captions were read: ${(hardsubs && hardsubs.reason) || "none found"}.`;
    await this.player.load(job, tracks, cues, empty);
    if (job.id === this.jobId) this.panel.dataset.ready = "true";
  }

  /** What the subtitles stage doubted: the language asked, speech left without text. */
  renderSpeechWarning(summary) {
    const parts = [];
    const doubt = summary.language_doubt;
    if (doubt && Array.isArray(doubt.at)) {
      // Unsure which language it hears, the model can still be sure it is not the one asked.
      const heard = doubt.sure === false
        ? `does not sound like ${doubt.asked} (${doubt.asked_probability}; perhaps ${doubt.heard})`
        : `sounds like ${doubt.heard} (${doubt.probability}), not ${doubt.asked}`;
      parts.push(`The speech at ${formatTime(doubt.at[0])}-${formatTime(doubt.at[1])} ${heard}: its subtitles ` +
                 "there are likely wrong or missing. Upload it again with the spoken language set to Detect.");
    }
    const unsure = summary.language_unsure;
    if (unsure && unsure.heard) {
      parts.push(`Whisper was unsure which language this is: it heard ${unsure.heard} at only ` +
                 `${unsure.probability}. If the speech is in another language, upload it again with that language set.`);
    }
    const unheard = Array.isArray(summary.unheard_speech) ? summary.unheard_speech : [];
    if (unheard.length) {
      const at = unheard.map(([a, b]) => `${formatTime(a)}-${formatTime(b)}`).join(", ");
      parts.push(`${summary.unheard_speech_s} s of speech have no text (${at}): listen there.`);
    }
    const note = byId("transcript-warning");
    note.textContent = parts.join(" ");
    note.hidden = !parts.length;
  }

  /**
   * The tracks (with their cues, for the transcript) of each imported translation: its subtitles'
   * (subtitles.<lang>.vtt) and its burned-in captions' (hardsubs.<lang>.vtt), whichever it wrote
   * (a silent video's translation has captions only). A captions track's language is tagged
   * "-x-burned", as the source captions' is, so the language switch tells it from the subtitles.
   */
  async translationTracks(job) {
    const tracks = { subtitles: [], captions: [] };
    let listed;
    try {
      listed = await getJson(`/v1/jobs/${job.id}/translations`);
    } catch {
      return tracks; // an older server, or none imported: the source tracks only
    }
    for (const [lang, entry] of Object.entries(listed.languages || {})) {
      const file = (name) => (entry.files || []).find((f) => f.name === name);
      const vtt = file(`subtitles.${lang}.vtt`);
      const captions = file(`hardsubs.${lang}.vtt`);
      if (!vtt && !captions) continue;
      const report = file(`translation.${lang}.json`);
      const doc = report ? await jsonFile(report) : null;
      const cuesOf = (key) => (doc && Array.isArray(doc[key]) ? doc[key] : []);
      if (vtt) {
        tracks.subtitles.push({ path: vtt.url, label: `Subtitles (${lang}, translated)`, lang, kind: "subtitles",
                                cues: cuesOf("cues") });
      }
      if (captions) {
        tracks.captions.push({ path: captions.url, label: `Burned-in captions (${lang}, translated)`,
                               lang: `${lang}-x-burned`, kind: "subtitles", cues: cuesOf("captions") });
      }
    }
    return tracks;
  }

  renderSkipped(stages) {
    const list = clear(byId("skipped-list"));
    for (const [name, st] of Object.entries(stages)) {
      if (st.status === "succeeded") continue;
      const why = st.reason || st.error || (st.status === "pending" ? "did not run" : st.status);
      list.append(el("li", {}, el("strong", { text: `${name}: ` }), why));
    }
    byId("skipped-section").hidden = !list.children.length;
  }

  renderOcr(stage, data) {
    const found = Array.isArray(data) ? data : (data && Array.isArray(data.events) ? data.events : []);
    // By time; events that start together keep their reading order (the sort is stable).
    const events = [...found].sort((a, b) => (Number(a.start) || 0) - (Number(b.start) || 0));
    const body = clear(byId("ocr-events"));
    for (const ev of events) {
      const text = ev.text || (Array.isArray(ev.lines) ? ev.lines.join(" ") : "");
      if (!text) continue;
      // A reading OCR was unsure of (another script read as Latin look-alikes? part of the text
      // hidden?) says so beside it.
      const flags = Array.isArray(ev.flags) && ev.flags.length ? ev.flags : null;
      const why = flags && flags.map((f) => OCR_FLAGS[f] || f).join("; ");
      body.append(el("tr", {}, el("td", {}, seekButton(ev.start)),
        el("td", {}, el("span", { class: "text", text }),
          flags ? el("span", { class: "flags", text: ` (${flags.join(", ")})`,
                               title: `Check this text against the video: ${why}` }) : null)));
    }
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: "2", class: "hint", text: "No on-screen text was found." })));
    const summary = stage.summary || {};
    const parts = [];
    if (summary.events !== undefined) parts.push(`${summary.events} text events`);
    else parts.push(`${events.length} text events`);
    if (summary.flagged) parts.push(`${summary.flagged} flagged for checking`);
    if (summary.scenes !== undefined) parts.push(`${Array.isArray(summary.scenes) ? summary.scenes.length : summary.scenes} scenes`);
    if (summary.engine) parts.push(`read by ${summary.engine}`);
    const hardsubs = data && data.hardsubs;  // absent: captions were not looked for (hardsubs "off")
    if (hardsubs && Array.isArray(hardsubs.cues)) {
      parts.push(hardsubs.cues.length ? `${hardsubs.cues.length} burned-in captions`
        : `no burned-in captions (${hardsubs.reason || "none found"})`);
    }
    byId("ocr-summary").textContent = parts.join(", ") + ".";
    byId("ocr-section").hidden = false;
  }

  renderClassify(stage, data) {
    const v = { ...(stage.summary || {}), ...((data && !Array.isArray(data)) ? data : {}) };
    const learning = v.label === "learning";
    const verdict = clear(byId("verdict"));
    verdict.className = `verdict ${learning ? "yes" : "no"}`;
    const label = v.label ? (learning ? "Learning content" : "Not learning content") : "No verdict";
    verdict.append(el("strong", { text: label }));
    if (v.probability !== undefined) verdict.append(` — P(learning) ${percent(v.probability)}`);
    if (learning && v.kind) verdict.append(`, kind: ${String(v.kind).replaceAll("_", " ")}`);
    if (v.method) verdict.append(` (${v.method})`);
    const notes = clear(byId("classify-notes"));
    if (v.weak) notes.append(el("li", { text: "A weaker verdict than usual." }));
    for (const note of Array.isArray(v.notes) ? v.notes : []) notes.append(el("li", { text: note }));
    let pro = Array.isArray(v.evidence_for) ? v.evidence_for : null;
    let con = Array.isArray(v.evidence_against) ? v.evidence_against : null;
    if (!pro && !con && Array.isArray(v.evidence)) {
      pro = v.evidence.filter((e) => Number(e.weight) >= 0);
      con = v.evidence.filter((e) => Number(e.weight) < 0);
    }
    this.renderEvidence(byId("evidence-for"), pro || []);
    this.renderEvidence(byId("evidence-against"), con || []);
    byId("classify-section").hidden = false;
  }

  renderEvidence(list, items) {
    clear(list);
    for (const e of items) {
      const weight = Number(e.weight);
      list.append(el("li", {},
        el("span", { class: `weight ${weight >= 0 ? "pos" : "neg"}`, text: Number.isFinite(weight) ? (weight >= 0 ? "+" : "") + weight.toFixed(2) : "" }),
        " ", el("span", { class: "source", text: e.source ? String(e.source).replace("_", " ") : "" }),
        " ", e.start !== undefined && e.start !== null ? seekButton(e.start) : "",
        " ", el("q", { text: e.text || "" })));
    }
    if (!items.length) list.append(el("li", { class: "hint", text: "None." }));
  }

  renderFit(stage, data) {
    const v = { ...(stage.summary || {}), ...((data && !Array.isArray(data)) ? data : {}) };
    const cues = Array.isArray(data) ? data : (Array.isArray(v.cues) ? v.cues : []);
    const body = clear(byId("fit-cues"));
    const counts = { ok: 0, shortened: 0, over: 0 };
    for (const cue of cues) {
      if (cue.status in counts) counts[cue.status] += 1;
      if (cue.status === "ok") continue;
      body.append(el("tr", { class: `fit-${cue.status}` },
        el("td", {}, seekButton(cue.start)),
        el("td", { text: cue.status || "" }),
        el("td", { text: cue.original || "" }),
        el("td", { text: cue.text || "" }),
        el("td", { text: cue.similarity !== undefined ? percent(cue.similarity) : "" })));
    }
    const c = v.counts && typeof v.counts === "object" ? v.counts : counts;
    byId("fit-summary").textContent =
      `${c.ok || 0} cues fitted already, ${c.shortened || 0} shortened, ${c.over || 0} still too long.`;
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "hint", text: "No cue needed shortening." })));
    byId("fit-section").hidden = false;
  }

  renderDownloads(job, result) {
    const list = clear(byId("downloads"));
    for (const [name, st] of Object.entries(result.stages || {})) {
      for (const f of stageFiles(st)) {
        list.append(el("li", {}, el("a", { href: f.url, download: f.name, dataset: { download: "" } }, f.name),
          el("span", { class: "hint", text: ` ${name}` })));
      }
    }
    const blob = new Blob([JSON.stringify(result, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    this.urls.push(url);
    list.append(el("li", {}, el("a", { href: url, download: `${job.id}.json` }, "result.json"),
      el("span", { class: "hint", text: " the whole result" })));
    byId("downloads-section").hidden = false;
  }

  /** With a key, a plain link cannot authenticate: fetch the file and save it from a blob: URL. */
  async download(link) {
    try {
      const url = await fetchObjectUrl(link.getAttribute("href"));
      const a = el("a", { href: url, download: link.getAttribute("download") || "" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      this.setMessage(`Download failed: ${err.message}`, true);
    }
  }
}

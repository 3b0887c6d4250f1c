// The player: the job's source video with its subtitle and on-screen text tracks, and the
// transcript kept in step with playback (the current line highlighted; a line seeks the video).

import { fetchObjectUrl, getKey, postJson } from "./api.js";
import { byId, clear, el, formatTime } from "./dom.js";

export class Player {
  constructor() {
    this.video = byId("video");
    this.transcript = byId("transcript");
    this.message = byId("player-message");
    this.showSubtitles = byId("show-subtitles");
    this.showOnscreen = byId("show-onscreen");
    this.languageSwitch = byId("language-switch");
    this.language = byId("subtitle-language");
    this.transcripts = new Map(); // language -> cues (the source's and every imported translation's)
    this.emptyText = "";
    this.objectUrls = [];
    this.lines = [];
    this.current = null;
    this.loadToken = 0;
    const sync = () => this.highlight(this.video.currentTime);
    this.video.addEventListener("timeupdate", sync);
    this.video.addEventListener("seeked", sync);
    this.showSubtitles.addEventListener("change", () => this.applyTrackModes());
    this.showOnscreen.addEventListener("change", () => this.applyTrackModes());
    this.language.addEventListener("change", () => this.switchLanguage());
    this.transcript.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-start]");
      if (button) this.seek(Number(button.dataset.start));
    });
  }

  /** Forget the previous job: stop playback, drop tracks, free blob: URLs. */
  reset() {
    this.loadToken += 1;
    this.video.pause();
    this.video.removeAttribute("src");
    for (const track of [...this.video.querySelectorAll("track")]) track.remove();
    this.video.load();
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
    this.lines = [];
    this.current = null;
    this.transcripts = new Map();
    clear(this.language);
    this.languageSwitch.hidden = true;
    clear(this.transcript);
    this.message.textContent = "";
  }

  seek(seconds) {
    // A hair past the cue start, so the cue is active at the new position.
    this.video.currentTime = Math.max(0, seconds + 0.01);
    this.highlight(this.video.currentTime);
  }

  async objectUrl(path, onProgress) {
    const url = await fetchObjectUrl(path, onProgress);
    this.objectUrls.push(url);
    return url;
  }

  /**
   * Load a job: tracks = [{path, label, lang, kind: "subtitles" | "onscreen", cues?}], cues for the
   * transcript (emptyText shown instead when there are none). Subtitle tracks with their own cues
   * (imported translations) are offered in the language switch; one subtitle track shows at a time.
   * Returns once the tracks are attached and the video's metadata is known (or failed to load).
   */
  async load(job, tracks, cues, emptyText = "No transcript.") {
    this.reset();
    const token = this.loadToken;
    this.emptyText = emptyText;
    const subtitleTracks = tracks.filter((t) => t.kind === "subtitles");
    for (const t of subtitleTracks) {
      this.transcripts.set(t.lang, t.cues || cues);
      this.language.append(el("option", { value: t.lang, text: t.label }));
    }
    this.languageSwitch.hidden = subtitleTracks.length < 2;
    this.renderTranscript(cues);
    if (!cues.length) this.transcript.append(el("li", { class: "hint", text: emptyText }));
    for (const t of tracks) {
      let src;
      try {
        src = await this.objectUrl(t.path);
      } catch (err) {
        this.message.textContent = `Could not load the ${t.label} track: ${err.message}`;
        continue;
      }
      if (token !== this.loadToken) return;
      const track = el("track", { kind: "subtitles", label: t.label, srclang: t.lang || "und", src });
      track.dataset.role = t.kind;
      track.dataset.lang = t.lang || "und";
      this.video.append(track);
    }
    this.applyTrackModes();
    await this.loadSource(job, token);
  }

  async loadSource(job, token) {
    const source = job.source || {};
    const path = `/v1/jobs/${job.id}/source`;
    let src;
    if (source.kind === "url") {
      src = source.location; // played from where it came
    } else if (getKey()) {
      // A <video> request cannot carry a bearer header: ask for a signed, expiring link instead,
      // which streams with range requests like the plain path.
      try {
        src = (await postJson(`/v1/jobs/${job.id}/source-link`)).url;
      } catch (err) {
        this.message.textContent = `Could not load the video: ${err.message}`;
        return;
      }
    } else {
      src = path; // no key: stream it with range requests
    }
    if (token !== this.loadToken) return;
    const ready = new Promise((resolve) => {
      const done = () => {
        this.video.removeEventListener("loadedmetadata", done);
        this.video.removeEventListener("error", done);
        resolve();
      };
      this.video.addEventListener("loadedmetadata", done);
      this.video.addEventListener("error", done);
    });
    this.video.src = src;
    await ready;
    if (this.video.error) this.message.textContent = "This browser cannot play the video's format; the results below still apply.";
    else this.message.textContent = "";
    this.applyTrackModes();
  }

  /** Show the chosen language's subtitles and transcript. */
  switchLanguage() {
    const cues = this.transcripts.get(this.language.value) || [];
    this.renderTranscript(cues);
    if (!cues.length) this.transcript.append(el("li", { class: "hint", text: this.emptyText }));
    this.current = null;
    this.highlight(this.video.currentTime);
    this.applyTrackModes();
  }

  applyTrackModes() {
    const chosen = this.language.value;
    for (const track of this.video.querySelectorAll("track")) {
      const subtitles = track.dataset.role !== "onscreen";
      const on = subtitles
        ? this.showSubtitles.checked && (!chosen || track.dataset.lang === chosen)
        : this.showOnscreen.checked;
      // "hidden" still loads cues and keeps activeCues current, without drawing them.
      track.track.mode = on ? "showing" : "hidden";
    }
  }

  renderTranscript(cues) {
    clear(this.transcript);
    this.lines = [];
    for (const cue of cues) {
      const text = (cue.lines && cue.lines.length ? cue.lines.join(" ") : cue.text) || "";
      const flags = cue.flags && cue.flags.length ? cue.flags : null;
      const button = el("button", {
        type: "button", class: "line", dataset: { start: cue.start, end: cue.end },
        "aria-label": `${formatTime(cue.start)}: ${text}`,
      },
      el("span", { class: "time", text: formatTime(cue.start) }),
      el("span", { class: "text", text, lang: cue.language || null }),
      cue.language ? el("span", { class: "lang", text: `spoken in ${cue.language}`,
                                  title: "Heard in another language than the rest of the video" }) : null,
      flags ? el("span", { class: "flags", text: flags.join(", "), title: "Style rules this cue breaks" }) : null);
      const li = el("li", {}, button);
      this.transcript.append(li);
      this.lines.push({ start: Number(cue.start), end: Number(cue.end), li, button });
    }
  }

  highlight(t) {
    const line = this.lines.find((l) => t >= l.start && t < l.end) || null;
    if (line === this.current) return;
    if (this.current) {
      this.current.li.classList.remove("current");
      this.current.button.removeAttribute("aria-current");
    }
    this.current = line;
    if (!line) return;
    line.li.classList.add("current");
    line.button.setAttribute("aria-current", "true");
    // Keep it in view inside the transcript box only (never scroll the whole page).
    const box = this.transcript;
    const top = line.li.offsetTop; // the list is position: relative
    if (top < box.scrollTop || top + line.li.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }
}

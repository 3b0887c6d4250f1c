// The job list: polled while jobs are active (one request for all, whatever their number).

import { ApiError, getJson } from "./api.js";
import { byId, el, percent } from "./dom.js";

const ACTIVE = new Set(["queued", "running"]);
const FAST_MS = 1000;
const IDLE_MS = 10000;

function jobName(job) {
  return (job.source && (job.source.filename || job.source.location)) || job.id;
}

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** One list item, updated in place so keyboard focus survives each refresh. */
function renderItem(li, job, selectedId) {
  const name = jobName(job);
  let link = li.querySelector("a");
  if (!link) {
    link = el("a", { href: `#job/${job.id}` },
      el("span", { class: "job-name" }),
      el("span", { class: "badge" }),
      el("progress", { max: "1" }),
      el("time", { class: "hint" }));
    li.append(link);
  }
  link.querySelector(".job-name").textContent = name;
  const badge = link.querySelector(".badge");
  badge.textContent = job.status;
  badge.className = `badge status-${job.status}`;
  const bar = link.querySelector("progress");
  bar.value = job.progress;
  bar.setAttribute("aria-label", `${name}: ${percent(job.progress)} done`);
  const time = link.querySelector("time");
  time.dateTime = job.created_at;
  time.textContent = when(job.created_at);
  if (job.id === selectedId) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  li.dataset.status = job.status;
}

/**
 * Keeps the list fresh. onJob(job) is called with every job each refresh (the open job panel
 * follows its job from there); onAuthNeeded(error) on 401/403.
 */
export class JobList {
  constructor({ onJob, onAuthNeeded }) {
    this.list = byId("job-list");
    this.message = byId("jobs-message");
    this.onJob = onJob;
    this.onAuthNeeded = onAuthNeeded;
    this.items = new Map();
    this.selectedId = null;
    this.timer = null;
    this.busy = false;
    this.again = false;
    this.watch = new Set(); // ids to follow even if not in the first page
    this.notice = ""; // e.g. "Deleted x.mp4.": shown above the list until the next notice
  }

  /** Say something about the list (kept across refreshes), then refresh it. */
  notify(text) {
    this.notice = text;
    this.message.classList.remove("error");
    this.message.textContent = text;
    this.refresh();
  }

  select(id) {
    this.selectedId = id;
    if (id) this.watch.add(id);
    for (const [jobId, li] of this.items) {
      const link = li.querySelector("a");
      if (!link) continue;
      if (jobId === id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  /** Refresh now, then again soon (fast while something runs). One refresh at a time. */
  async refresh() {
    if (this.busy) {
      this.again = true; // asked for while one is in flight: run once more right after it
      return;
    }
    this.busy = true;
    this.again = false;
    clearTimeout(this.timer);
    try {
      await this.poll();
    } finally {
      this.busy = false;
    }
    if (this.again) this.refresh();
  }

  async poll() {
    let delay = IDLE_MS;
    try {
      const { jobs } = await getJson("/v1/jobs?limit=50");
      this.render(jobs);
      const seen = new Set(jobs.map((j) => j.id));
      let active = jobs.some((j) => ACTIVE.has(j.status));
      for (const id of this.watch) {
        if (seen.has(id)) continue;
        try {
          const job = await getJson(`/v1/jobs/${id}`); // an open job older than the first page
          active ||= ACTIVE.has(job.status);
          this.onJob(job);
        } catch {
          this.watch.delete(id);
        }
      }
      if (active) delay = FAST_MS;
      this.message.classList.remove("error");
      this.message.textContent = [this.notice, jobs.length ? "" : "No jobs yet."].filter(Boolean).join(" ");
    } catch (err) {
      this.message.classList.add("error");
      this.message.textContent = err.message;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.onAuthNeeded(err);
        return; // saving a key refreshes again
      }
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  render(jobs) {
    const ids = new Set(jobs.map((j) => j.id));
    for (const [id, li] of this.items) {
      if (!ids.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    let previous = null;
    for (const job of jobs) {
      let li = this.items.get(job.id);
      if (!li) {
        li = el("li", { dataset: { jobId: job.id } });
        this.items.set(job.id, li);
      }
      renderItem(li, job, this.selectedId);
      const want = previous ? previous.nextSibling : this.list.firstChild;
      if (want !== li) this.list.insertBefore(li, want);
      previous = li;
      this.onJob(job);
    }
  }
}

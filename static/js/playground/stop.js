/*
 * The Stop button of a run in progress. With the run's job id (the live
 * stream's first event) it asks DELETE /api/jobs/<job_id>: 202 when the
 * server stopped it, 404 when the run is unknown or over already; either
 * way the stream then ends with the run's answer (status "cancelled" when
 * it was stopped). Before the job id is known, when the server cannot be
 * asked, or when no answer follows in a few seconds, the request itself
 * is aborted: a closed stream cancels the run on the server too.
 */

import { setText, show } from '../dom.js';
import { els } from './els.js';
import { setPhase } from './progress.js';

const JOBS_URL = 'api/jobs/';
const JOB_ID_RE = /^[0-9a-f]{32}$/;
// How long after Stop the page waits for the run's answer before it closes the stream.
const STOP_GRACE_MS = 5000;

let current = null; // {controller, jobId, stopping, timer, ended}

// A run that can be stopped begins; controller aborts its request.
export function beginStoppable(controller) {
  current = { controller: controller, jobId: null, stopping: false, timer: 0, ended: false };
  els.stop.removeAttribute('aria-disabled');
  setText(els.stopLabel, 'Stop');
  show(els.stop, true);
}

// Whether Stop was pressed during the current (or just ended) run.
export function stopRequested() {
  return !!(current && current.stopping);
}

function abortNow() {
  if (current) current.controller.abort();
}

async function cancelJob(run) {
  let status = 0;
  try {
    const response = await fetch(JOBS_URL + run.jobId, { method: 'DELETE', credentials: 'same-origin', cache: 'no-store' });
    status = response.status;
  } catch (e) {
    status = 0;
  }
  if (current !== run || run.ended) return;
  // 202: stopped; 404: over already. Both: the answer is on its way.
  if (status === 202 || status === 404) run.timer = setTimeout(abortNow, STOP_GRACE_MS);
  else abortNow();
}

// The run's job id, from the stream's job event.
export function setJob(jobId) {
  if (!current || !JOB_ID_RE.test(String(jobId))) return;
  current.jobId = jobId;
}

// Stops the run in progress (the button's click); does nothing when none is, or Stop was pressed already.
export function requestStop() {
  const run = current;
  if (!run || run.stopping || els.stop.hidden) return;
  run.stopping = true;
  els.stop.setAttribute('aria-disabled', 'true');
  setText(els.stopLabel, 'Stopping…');
  setPhase('stopping');
  if (run.jobId) cancelJob(run);
  else abortNow();
}

// The run ended: the button goes, and the focus it had goes back to Run.
export function endStoppable() {
  if (current) {
    current.ended = true;
    clearTimeout(current.timer);
  }
  const focused = document.activeElement === els.stop;
  show(els.stop, false);
  if (focused) els.run.focus();
}

export function startStop() {
  els.stop.addEventListener('click', requestStop);
}

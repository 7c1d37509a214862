/*
 * What each status of a run means, in words, for both pages (the statuses
 * are the API's: success, error, timeout, oom, no_output, bad_output,
 * output_limit (it printed more than a run may),
 * cancelled for a run stopped before its end, and rejected for a refused
 * request).
 */

export const STATUS_ORDER = ['success', 'error', 'timeout', 'oom', 'no_output', 'bad_output', 'output_limit', 'cancelled', 'rejected'];

// Short names, for badges.
export const STATUS_WORD = {
  success: 'Success',
  error: 'Error',
  timeout: 'Timed out',
  oom: 'Out of memory',
  no_output: 'No result',
  bad_output: 'Bad result',
  output_limit: 'Printed too much',
  cancelled: 'Cancelled',
  rejected: 'Refused'
};

// A finished run, in a sentence (errors are described from their traceback).
export const STATUS_TEXT = {
  timeout: 'Stopped: the script ran longer than the time limit',
  oom: 'Stopped: the script used more memory than allowed',
  no_output: 'The script finished but did not save /output/result.png',
  bad_output: 'The result is not a PNG image (or is too large)',
  output_limit: 'Stopped: the script printed more than a run may',
  cancelled: 'Cancelled: the run was stopped before the script ended'
};

// What to do about it.
export const STATUS_HINT = {
  error: 'Read the traceback, fix the highlighted line and run again.',
  timeout: 'Make the script faster, or work on a smaller copy of the image (Image.thumbnail).',
  oom: 'Work on a smaller image, or use smaller arrays (uint8 rather than float64).',
  no_output: 'End the script with something like result.save("/output/result.png").',
  bad_output: 'Save a PNG: result.save("/output/result.png", format="PNG"), and keep it reasonably small.',
  output_limit: 'Print a summary (shape, a few values), not every pixel or a line per loop step.'
};

// The dashboard's longer names of the failures.
export const STATUS_LONG = {
  timeout: 'Stopped at the time limit',
  oom: 'Stopped: out of memory',
  no_output: 'Finished without saving /output/result.png',
  bad_output: 'The result was not a usable PNG',
  output_limit: 'Stopped: printed more than a run may',
  cancelled: 'Stopped before the end (cancelled)',
  rejected: 'Refused before running'
};

// A script's exception as "NameError: name 'x' is not defined".
export function errorMessageOf(err) {
  const message = typeof err.message === 'string' && err.message ? ': ' + err.message : '';
  return String(err.type || 'Error') + message;
}

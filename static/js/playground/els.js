/*
 * The playground's elements (static/index.html), found once at start-up.
 */

import { findElements } from '../dom.js';

export const els = {};

const IDS = [
  ['form', 'run-form'], ['code', 'code'], ['codeLabel', 'code-label'], ['resetCode', 'reset-code'],
  ['imageField', 'image-field'],
  ['imageInput', 'image-input'], ['useSample', 'use-sample'], ['previewImg', 'preview-img'],
  ['imageInfo', 'image-info'], ['imageError', 'image-error'], ['imageLimitBytes', 'image-limit-bytes'],
  ['imageLimitPixels', 'image-limit-pixels'], ['params', 'params'],
  ['paramsError', 'params-error'], ['run', 'run'], ['runLabel', 'run-label'], ['progress', 'progress'],
  ['progressLabel', 'progress-label'], ['elapsed', 'elapsed'], ['timeLimit', 'time-limit'],
  ['timeProgress', 'time-progress'], ['resultPanel', 'result-panel'],
  ['status', 'status'], ['statusHint', 'status-hint'], ['runMeta', 'run-meta'], ['inputImg', 'input-img'],
  ['inputDims', 'input-dims'], ['resultImg', 'result-img'], ['resultDims', 'result-dims'],
  ['download', 'download'], ['errorBox', 'error-box'], ['error', 'error'], ['traceback', 'traceback'],
  ['errorGoto', 'error-goto'],
  ['truncatedNote', 'truncated-note'], ['stdout', 'stdout'], ['stderr', 'stderr'],
  ['editorNote', 'editor-note'], ['examplesButton', 'examples-button'], ['examplesMenu', 'examples-menu'],
  ['historyPanel', 'history-panel'], ['historyList', 'history-list'], ['historyInfo', 'history-info'],
  ['historyRefresh', 'history-refresh'], ['newSession', 'new-session'], ['health', 'health'],
  ['stop', 'stop'], ['stopLabel', 'stop-label'], ['phases', 'phases'], ['resultFigure', 'result-figure'],
  ['outputsMore', 'outputs-more'], ['outputsCount', 'outputs-count'], ['outputsList', 'outputs-list'],
  ['outputsRefusedBox', 'outputs-refused-box'], ['outputsRefused', 'outputs-refused'],
  ['outputFilesLimit', 'output-files-limit'],
  ['assistPanel', 'assist-panel'], ['assistPrompt', 'assist-prompt'], ['generate', 'generate'],
  ['generateLabel', 'generate-label'], ['assistStop', 'assist-stop'], ['assistUseCode', 'assist-use-code'],
  ['autoFix', 'auto-fix'], ['autoFixMax', 'auto-fix-max'], ['assistStatus', 'assist-status'],
  ['assistClock', 'assist-clock'], ['assistError', 'assist-error'], ['assistErrorTitle', 'assist-error-title'],
  ['assistErrorMessage', 'assist-error-message'], ['assistErrorHint', 'assist-error-hint'],
  ['assistNotesBox', 'assist-notes-box'], ['assistNotesHeading', 'assist-notes-heading'], ['assistNotes', 'assist-notes'],
  ['assistUndo', 'assist-undo'], ['fixBar', 'fix-bar'], ['fixAi', 'fix-ai'],
  ['diffBox', 'diff-box'], ['diffSummary', 'diff-summary'], ['diff', 'diff'], ['diffClose', 'diff-close']
];

export function findPlaygroundElements() {
  findElements(els, IDS);
}

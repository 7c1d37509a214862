/*
 * The dashboard's elements (static/dashboard.html), found once at start-up.
 */

import { findElements } from '../dom.js';

export const els = {};

const IDS = [
  ['updated', 'updated'], ['refresh', 'refresh'], ['message', 'dash-message'],
  ['kpiRuns', 'kpi-runs'], ['kpiRate', 'kpi-rate'], ['kpiFixed', 'kpi-fixed'], ['kpiSessions', 'kpi-sessions'],
  ['kpiDuration', 'kpi-duration'], ['trendChart', 'trend-chart'], ['trendTable', 'trend-table'],
  ['scaleRecent', 'scale-recent'], ['scaleDay', 'scale-day'], ['outcomes', 'outcomes'],
  ['durationLine', 'duration-line'], ['patternsTable', 'patterns-table'], ['patternsEmpty', 'patterns-empty'],
  ['recs', 'recs'], ['recsEmpty', 'recs-empty'], ['unfixed', 'unfixed'], ['unfixedEmpty', 'unfixed-empty'],
  ['unfixedMore', 'unfixed-more'], ['unfixedCount', 'unfixed-count'], ['contextText', 'context-text'],
  ['copyContext', 'copy-context'], ['copyStatus', 'copy-status'], ['dialog', 'log-dialog'],
  ['logTitle', 'log-title'], ['logClose', 'log-close'], ['logMeta', 'log-meta'], ['logError', 'log-error'],
  ['logCode', 'log-code'], ['logTracebackBox', 'log-traceback-box'], ['logTraceback', 'log-traceback'],
  ['logStreams', 'log-streams'], ['logStdout', 'log-stdout'], ['logStderr', 'log-stderr'],
  ['logOpen', 'log-open'], ['logCopy', 'log-copy'], ['logCopyStatus', 'log-copy-status'],
  ['accessPanel', 'access-panel'], ['accessHeading', 'access-heading'], ['accessMessage', 'access-message'],
  ['accessHint', 'access-hint'], ['tokenForm', 'token-form'], ['tokenInput', 'token-input'],
  ['tokenError', 'token-error'], ['forgetToken', 'forget-token'],
  ['models', 'models'], ['modelsEmpty', 'models-empty'], ['modelsNote', 'models-note']
];

export function findDashboardElements() {
  findElements(els, IDS);
}

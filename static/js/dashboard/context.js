/*
 * The AI context (GET /api/logs/ai-context): plain text for an AI's prompt,
 * shown as it is, with a copy button.
 */

import { setText } from '../dom.js';
import { copyText } from './clipboard.js';
import { els } from './els.js';
import { apiProblem } from './messages.js';

export const CONTEXT_URL = 'api/logs/ai-context';

// Shows the answer of getText(CONTEXT_URL).
export function showContext(got) {
  if (got.ok) {
    setText(els.contextText, got.text || '(empty)');
    els.copyContext.disabled = !got.text;
  } else {
    setText(els.contextText, apiProblem(got, 'The AI context'));
    els.copyContext.disabled = true;
  }
}

export function startContext() {
  els.copyContext.addEventListener('click', function () {
    copyText(els.contextText.textContent, els.copyStatus, els.contextText);
  });
}

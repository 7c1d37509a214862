// The dashboard: its totals, chart, outcomes, patterns, recommendations and
// AI context; its figures are the server's summary's; a log entry in its
// dialog, handed over to the playground; the panel per model (models.mjs),
// empty, then with the figures of runs posted with models.

import { pageJson } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';
import { modelsEmptySuite, modelsSuite } from './models.mjs';

async function dashboardShown(page) {
  await page.click('.site-nav a[href="dashboard.html"]');
  await page.waitForSelector('#trend-chart svg .bar-ok', { timeout: 15000 });
  const chart = await page.evaluate(() => ({
    bars: document.querySelectorAll('#trend-chart svg rect').length,
    dots: document.querySelectorAll('#trend-chart svg circle').length
  }));
  await expect(chart.bars >= 2 && chart.dots >= 1, `the chart has ${chart.bars} bars and ${chart.dots} dots`);
  await page.click('#scale-day');
  await page.waitForSelector('#scale-day[aria-pressed="true"]');
  await expect(await page.locator('#trend-chart svg .bar-ok').count() >= 1, 'no chart by day');
  await page.click('#scale-recent');
  await page.waitForSelector('#scale-recent[aria-pressed="true"]');
  const runs = Number(await page.evaluate(() => document.getElementById('kpi-runs').firstChild.textContent));
  await expect(runs >= 4, `the dashboard counts ${runs} runs`);
  await expect(await page.locator('#outcomes .outcome').count() >= 2, 'no outcomes');
  await expect(/NameError/.test(await page.textContent('#patterns-table')), 'NameError is not among the patterns');
  await expect(await page.locator('#recs .rec').count() >= 1, 'no recommendations');
  const ctx = await page.textContent('#context-text');
  await expect(/^# The image sandbox/.test(ctx), 'no AI context');
  await page.click('#copy-context');
  await page.waitForFunction(() => /Copied/.test(document.getElementById('copy-status').textContent));
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  await expect(clip === ctx, 'the clipboard does not hold the AI context');
}

// The figures the dashboard shows: runs, their split, the rate, the outcome counts, the chart's words.
function shownFigures(page) {
  return page.evaluate(() => ({
    runs: document.getElementById('kpi-runs').firstChild.textContent,
    split: (document.querySelector('#kpi-runs .kpi-sub') || {}).textContent,
    rate: document.getElementById('kpi-rate').textContent,
    outcomes: [...document.querySelectorAll('#outcomes .outcome-count')].map((e) => parseInt(e.textContent, 10)),
    desc: document.getElementById('trend-svg-desc').textContent
  }));
}

// The dashboard's totals and success rate are those of GET /api/logs/summary.
export async function expectSummaryFigures(page) {
  const s = await pageJson(page, '/api/logs/summary');
  const shown = await shownFigures(page);
  const rate = Math.round(s.success_rate * 100) + '%';
  await expect(Number(shown.runs.replace(/\D/g, '')) === s.total, `runs: ${shown.runs}, the summary ${s.total}`);
  await expect(shown.split === `${s.successes} succeeded, ${s.failures} failed`,
    `split: ${shown.split}, the summary ${s.successes}/${s.failures}`);
  await expect(shown.rate === rate, `success rate: ${shown.rate}, the summary ${rate}`);
  const outcomes = shown.outcomes.reduce((a, b) => a + b, 0);
  await expect(outcomes === s.total, `the outcomes add up to ${outcomes}, the summary ${s.total}`);
  const whole = `In the whole log, ${s.total} ${s.total === 1 ? 'run' : 'runs'}, ${rate} succeeded.`;
  await expect(shown.desc.includes(whole), `the chart says "${shown.desc}", not "${whole}"`);
  return s;
}

// By day, the chart's table gives each day's success rate as the server's trend does.
async function expectTrendByDay(page) {
  const analysis = await pageJson(page, '/api/logs/analysis?limit=10');
  await page.click('#scale-day');
  await page.waitForSelector('#scale-day[aria-pressed="true"]');
  const rows = await page.$$eval('#trend-table tbody tr', (trs) => trs.map((tr) => tr.lastChild.textContent));
  const want = analysis.trend.filter((d) => d.runs > 0).map((d) => Math.round(d.success_rate * 100) + '%');
  await page.click('#scale-recent');
  await page.waitForSelector('#scale-recent[aria-pressed="true"]');
  await expect(rows.join() === want.join(), `by day the table says ${rows}, the server's trend ${want}`);
}

async function matchesSummary(page) {
  await expectSummaryFigures(page);
  await expectTrendByDay(page);
}

async function logDialog(page) {
  await page.waitForSelector('#unfixed .failure');
  const item = page.locator('#unfixed .failure', { hasText: 'without saving' }).first();
  await item.locator('button').click();
  await page.waitForFunction(() => document.getElementById('log-dialog').open &&
    /no image saved/.test(document.getElementById('log-code').textContent));
  await expect(/without saving/.test(await page.textContent('#log-error')), 'the dialog does not say what failed');
}

async function openInPlayground(page) {
  await page.click('#log-open');
  await page.waitForURL((u) => u.pathname === '/');
  await page.waitForFunction(() => document.querySelector('.CodeMirror') &&
    document.querySelector('.CodeMirror').CodeMirror.getValue().includes('no image saved'));
}

export async function dashboardSuite(t) {
  const { page } = t;
  await t.check(page, 'dashboard', () => dashboardShown(page));
  await modelsEmptySuite(t);
  await t.check(page, 'dashboard-figures-are-the-summary', () => matchesSummary(page));
  await t.check(page, 'dashboard-log-dialog', () => logDialog(page));
  await t.check(page, 'open-in-playground', () => openInPlayground(page));
  await modelsSuite(t);
}

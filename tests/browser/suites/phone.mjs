// At a phone's width: nothing wider than the screen, targets big enough.

import { expect } from '../harness/steps.mjs';

async function phonePlayground(page) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await expect(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  const run = await page.evaluate(() => document.getElementById('run').getBoundingClientRect().height);
  await expect(run >= 40, `the Run button is ${run}px high: too small a target`);
}

async function phoneDashboard(page) {
  await page.goto('/dashboard.html');
  await page.waitForSelector('#trend-chart svg');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await expect(overflow <= 0, `the dashboard is ${overflow}px wider than a phone`);
}

export async function phoneSuite(t) {
  await t.check(t.page, 'phone-playground', () => phonePlayground(t.page));
  await t.check(t.page, 'phone-dashboard', () => phoneDashboard(t.page));
}

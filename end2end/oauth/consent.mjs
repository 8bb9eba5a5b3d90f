// A person consenting at the third party, in headless Debian Chromium:
// opens the authorization URL, signs in, clicks Continue on the consent
// page, and waits for Writ's callback page. Screenshots each step.
// Usage: node consent.mjs <authorization URL> <screenshot prefix>
import { chromium } from '@playwright/test';

const [url, prefix] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    // Trust exactly Writ's TLS key (the callback is on Writ).
    `--ignore-certificate-errors-spki-list=${process.env.WRIT_E2E_SPKI}`,
  ],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any');
  await page.screenshot({ path: `${prefix}-1-sign-in.png` });
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  await page.screenshot({ path: `${prefix}-2-consent.png` });
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Authorization complete' }).waitFor({ timeout: 20_000 });
  await page.screenshot({ path: `${prefix}-3-callback.png` });
  console.log(JSON.stringify({ done: true, url: page.url() }));
} catch (e) {
  console.log(JSON.stringify({ done: false, error: String(e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

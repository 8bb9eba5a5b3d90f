import { test, expect, Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminApi, hydrated, signIn, tokenPost } from './helpers';

// The Audit page: token requests filtered by client (and outcome), paged
// with Next / Previous, exported as JSON lines with the session cookie; and
// the admin change log beside it.

const shots = path.join(__dirname, '..', 'artifacts', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `audit-${name}.png`), fullPage: true });
}

/** A new agent with a secret, through the admin API. */
async function agent(name: string) {
  const a = await adminApi('POST', '/agents', { name, owner: 'e2e' });
  expect(a.status).toBe(201);
  const s = await adminApi('POST', `/agents/${a.json.id}/client-secrets`, {});
  expect(s.status).toBe(201);
  return { id: a.json.id as string, clientId: a.json.client_id as string, secret: s.json.client_secret as string };
}

test('audit: filter by client, page, export JSON lines, admin changes', async ({ page }) => {
  const a = await agent('audit-e2e-a');
  const b = await agent('audit-e2e-b');
  // A: 12 issued and a refusal (13 rows); B: 2 issued.
  for (let i = 0; i < 12; i++) expect(await tokenPost(a.clientId, a.secret)).toBe(200);
  expect(await tokenPost(a.clientId, 'writcs_not-the-secret')).toBe(401);
  for (let i = 0; i < 2; i++) expect(await tokenPost(b.clientId, b.secret)).toBe(200);
  expect((await adminApi('POST', `/agents/${b.id}/disable`)).status).toBe(200);

  await signIn(page);
  await page.getByRole('link', { name: 'Audit', exact: true }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await hydrated(page);
  const table = page.getByRole('table', { name: 'Token requests' });
  const rows = table.locator('tbody tr');
  await expect(table).toContainText(a.clientId);
  await expect(table).toContainText(b.clientId);
  await shot(page, '01-token-requests');

  // Filter by client, ten rows a page.
  const filters = page.getByRole('region', { name: 'Filter token requests' });
  await filters.getByLabel('Client ID').fill(a.clientId);
  await filters.getByLabel('Rows per page').selectOption('10');
  await filters.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(10);
  await expect(table).not.toContainText(b.clientId);
  for (const cell of await rows.locator('td:nth-child(2)').all()) {
    await expect(cell).toHaveText(a.clientId);
  }
  await expect(page.getByText('Page 1', { exact: true })).toBeVisible();
  const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
  await shot(page, '02-filtered-by-client');

  // Next: the three older rows, none of the first page's; then no further page.
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByText('Page 2', { exact: true })).toBeVisible();
  await expect(rows).toHaveCount(3);
  const secondPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
  expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
  await expect(page.getByRole('button', { name: 'Next' })).toBeDisabled();
  await shot(page, '03-page-2');
  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(page.getByText('Page 1', { exact: true })).toBeVisible();
  await expect(rows).toHaveCount(10);
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')))).toEqual(firstPage);

  // Only the refusal.
  await filters.getByLabel('Outcome').selectOption('refused');
  await filters.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('secret_mismatch');
  await shot(page, '04-refused');

  // The export carries the filters and is authorised by the session cookie.
  const link = page.getByRole('link', { name: 'Export JSON lines' });
  await expect(link).toHaveAttribute('href', new RegExp(`^/console/audit/export\\?client_id=${a.clientId}&outcome=refused$`));
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const lines = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(1);
  const row = JSON.parse(lines[0]);
  expect(row.client_id).toBe(a.clientId);
  expect(row.outcome).toBe('refused');

  // Admin changes: B's disable by the admin token, before and after.
  await page.getByRole('tab', { name: 'Admin Changes' }).click();
  const changes = page.getByRole('table', { name: 'Admin changes' });
  await expect(changes).toContainText('agent.create');
  const changeFilters = page.getByRole('region', { name: 'Filter admin changes' });
  await changeFilters.getByLabel('Action').fill('agent.disable');
  await changeFilters.getByLabel('Resource ID').fill(b.id);
  await changeFilters.getByRole('button', { name: 'Search' }).click();
  await expect(changes.locator('tbody tr')).toHaveCount(1);
  const change = changes.locator('tbody tr').first();
  await expect(change).toContainText('bootstrap');
  await change.getByText('Show').click();
  await expect(change.locator('pre').first()).toContainText('"enabled": true');
  await expect(change.locator('pre').nth(1)).toContainText('"enabled": false');
  await expect(changes).not.toContainText(b.secret);
  await shot(page, '05-admin-changes');
});

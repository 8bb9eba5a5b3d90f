// Helpers the browser specs share: the admin API (with the bootstrap token
// run.sh provides, trusting Writ's CA), hydration, and signing in.
import { expect, Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as https from 'node:https';

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signIn(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(process.env.WRIT_E2E_ADMIN_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await hydrated(page);
}

/** The admin API with the bootstrap token run.sh provides, trusting Writ's CA. */
export function adminApi(method: string, apiPath: string, body?: unknown): Promise<{ status: number; json: any }> {
  const url = new URL(`/api/admin/v1${apiPath}`, process.env.WRIT_E2E_URL);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca: fs.readFileSync(process.env.WRIT_E2E_CA!),
      headers: {
        Authorization: `Bearer ${process.env.WRIT_E2E_ADMIN_TOKEN}`,
        ...(data ? { 'Content-Type': 'application/json' } : {}),
      },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** A client_secret_post token request at Writ's token endpoint: its status. */
export function tokenPost(clientId: string, secret: string, scope = 'urn:cloud:idaas:pam|.all'): Promise<number> {
  const url = new URL('/api/v2/iauths_system/oauth2/token', process.env.WRIT_E2E_URL);
  const data = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST',
      ca: fs.readFileSync(process.env.WRIT_E2E_CA!),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(data);
    req.end();
  });
}

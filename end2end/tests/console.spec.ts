import { test, expect, Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminApi, hydrated, signIn } from './helpers';

// The seed flow, in a real Chromium against a real Writ: sign in, register an
// agent, add a secret, create a resource server and a grant, download
// client-config.json, and let the official SDK use it.

const shots = path.join(__dirname, '..', 'artifacts', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
let step = 0;
async function shot(page: Page, name: string) {
  step += 1;
  await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** A root → intermediate → leaf chain made by the openssl CLI, and ES256
 *  client assertions signed by the leaf's key. */
function makePki() {
  const dir = fs.mkdtempSync('/tmp/writ-e2e-pki-');
  const script = `set -e
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key root.key; key int.key; key leaf.key
    openssl req -x509 -new -key root.key -subj "/CN=E2E Root" -days 30 -out root.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > int.ext
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > leaf.ext
    openssl req -new -key int.key -subj "/CN=E2E Intermediate" -out int.csr
    openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 -extfile int.ext -out int.pem 2>/dev/null
    openssl req -new -key leaf.key -subj "/CN=etl-worker" -out leaf.csr
    openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 30 -extfile leaf.ext -out leaf.pem 2>/dev/null`;
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const key = createPrivateKey(read('leaf.key'));
  const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  return {
    leafKeyPath: path.join(dir, 'leaf.key'),
    root: read('root.pem'),
    intermediate: read('int.pem'),
    leaf: read('leaf.pem'),
    assertion(clientId: string, aud: string) {
      const now = Math.floor(Date.now() / 1000);
      const input = `${b64(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64(JSON.stringify({
        iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: now, exp: now + 600 }))}`;
      const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${b64(sig)}`;
    },
  };
}


/** Sign-In › Federated Credential Provider Management: the one "Add
 *  Federated Credential Provider" button, the type, then Next. */
async function openProviderForm(page: Page, kind: 'pca' | 'oidc' | 'pkcs7') {
  await page.getByRole('button', { name: 'Add Federated Credential Provider' }).click();
  const chooser = page.getByRole('region', { name: 'Add Federated Credential Provider' });
  await chooser.locator('select[name="provider_type"]').selectOption(kind);
  await chooser.getByRole('button', { name: 'Next' }).click();
}



test('seed flow: agent, secret, resource server, grant, SDK config', async ({ page }) => {
  const password = process.env.WRIT_E2E_ADMIN_PASSWORD!;

  // Signing in: a wrong password gets a clear message, the right one the console.
  await page.goto('/login');
  await hydrated(page);
  await shot(page, 'login');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong user name or password');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await expect(page.getByRole('heading', { name: 'Agent ID Guard' })).toBeVisible();
  await hydrated(page);
  await shot(page, 'agent-list');

  // Register Agent Identity: defaults are filled in; the description limit is enforced.
  await page.getByRole('button', { name: 'Register Agent Identity' }).click();
  const panel = page.getByRole('region', { name: 'Register Agent Identity' });
  await expect(panel.getByLabel('Agent Name')).toHaveValue(/^agent-/);
  await expect(panel.getByLabel('Owner')).toHaveValue('admin');
  await panel.getByLabel('Agent Name').fill('e2e-support-agent');
  await panel.getByLabel('Description').fill('x'.repeat(129));
  await panel.getByRole('button', { name: 'Register' }).click();
  await expect(panel.getByRole('alert')).toContainText('at most 128 characters');
  await panel.getByLabel('Description').fill('Answers support tickets');
  await shot(page, 'register-agent');
  await panel.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/agents\/[0-9a-f-]{36}\?tab=client_secret$/);
  await expect(page.getByRole('heading', { name: 'e2e-support-agent' })).toBeVisible();
  const clientId = (await page.locator('code.client-id').textContent())!.trim();
  expect(clientId).toMatch(/^app_/);
  const agentUrl = page.url();

  // The Agent module opens General: issuer URLs and Authentication Management.
  await page.locator('.flowchart .node.agent').click();
  await expect(page.getByRole('heading', { name: 'Authentication Management' })).toBeVisible();
  await expect(page.locator('.copy-field', { hasText: 'JWKS URL' })).toContainText('/api/v2/iauths_system/oauth2/jwks');
  await page.getByRole('button', { name: 'Add client_secret' }).click();
  const once = page.locator('.secret-once');
  await expect(once).toContainText('shown only once');
  const secret = (await once.locator('code').textContent())!.trim();
  expect(secret).toMatch(/^writcs_/);
  const row = page.locator('table.secrets tbody tr').first();
  await expect(row).toContainText('Enabled');
  await expect(row.getByRole('button', { name: 'Delete' })).toBeDisabled();
  await shot(page, 'client-secret-added');

  // Certificates Credential: manually add a public key for private_key_jwt.
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await page.getByRole('tab', { name: 'Certificates Credential' }).click();
  await page.getByLabel('Public key').fill(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  await page.getByRole('button', { name: 'Manually Add' }).click();
  await expect(page.locator('table.public-keys tbody tr').first()).toContainText('EC P-256');
  await expect(page.locator('table.public-keys tbody tr').first()).toContainText('Enabled');
  await page.getByLabel('Public key').fill('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----');
  await page.getByRole('button', { name: 'Manually Add' }).click();
  await expect(page.getByRole('alert')).toContainText('private key');
  await shot(page, 'public-key-added');
  await page.getByRole('tab', { name: 'Client Secret Credential' }).click();

  // A resource server, its OIDC-IdP facts, and a grant to the agent.
  await page.goto('/resource-servers');
  await hydrated(page);
  await page.getByRole('button', { name: 'Add Resource Server' }).click();
  const rsPanel = page.getByRole('region', { name: 'Add Resource Server' });
  const audience = `https://orders-${Date.now()}.example`;
  await rsPanel.getByLabel('Name').fill('Orders API');
  await rsPanel.getByLabel('Audience identifier').fill(audience);
  await rsPanel.getByLabel(/Permissions/).fill('orders:read orders:write');
  await rsPanel.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/resource-servers\/[0-9a-f-]{36}$/);
  // Seed 004: the fingerprint RAM's Get Fingerprint computes (top certificate, no colons).
  await expect(page.locator('.copy-field', { hasText: "what RAM's Get Fingerprint shows" })).toContainText(/[0-9A-F]{40}/);
  await expect(page.locator('.copy-field', { hasText: 'SHA-1 of the server certificate' })).toContainText(/([0-9A-F]{2}:){19}[0-9A-F]{2}/);
  await expect(page.locator('.copy-field', { hasText: 'Client ID (audience identifier)' })).toContainText(audience);
  await page.locator('select[name="client"]').selectOption(clientId);
  await page.getByRole('checkbox', { name: 'orders:read' }).check();
  await page.getByRole('button', { name: 'Grant' }).click();
  await expect(page.locator('table.grants')).toContainText(clientId);
  await expect(page.locator('table.grants')).toContainText('orders:read');
  await shot(page, 'resource-server-grant');

  // Generate SDK Configuration and download client-config.json.
  await page.goto(agentUrl);
  await hydrated(page);
  await page.getByRole('tab', { name: 'SDK Configuration' }).click();
  await page.locator('select[name="authn_method"]').selectOption('CLIENT_SECRET_BASIC');
  await expect(page.locator('pre.config')).toContainText('"authnMethod": "CLIENT_SECRET_BASIC"');
  await expect(page.locator('.howto')).toContainText('~/.cloud_idaas/client-config.json');
  await shot(page, 'sdk-config');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('client-config.json');
  const saved = path.join(__dirname, '..', 'artifacts', 'client-config.json');
  await download.saveAs(saved);
  const config = JSON.parse(fs.readFileSync(saved, 'utf8'));
  expect(config.clientId).toBe(clientId);
  expect(config.scope).toBe('urn:cloud:idaas:pam|.all');
  expect(config.authnConfiguration).toEqual({
    identityType: 'CLIENT', authnMethod: 'CLIENT_SECRET_BASIC', clientSecretEnvVarName: 'IDAAS_CLIENT_SECRET',
  });

  // The official SDK, unmodified, gets a token with the downloaded file.
  const sdk = spawnSync(process.env.WRIT_E2E_PYTHON!, [path.join(__dirname, '..', 'sdk', 'sdk_get_token.py')], {
    env: { ...process.env, CLOUD_IDAAS_CONFIG_PATH: saved, IDAAS_CLIENT_SECRET: secret, SSL_CERT_FILE: process.env.WRIT_E2E_CA! },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = JSON.parse(sdk.stdout.trim().split('\n').pop()!);
  expect(out.access_token, sdk.stdout + sdk.stderr).toBeTruthy();

  // The token request shows on the agent's page.
  await page.getByRole('tab', { name: 'Token Requests' }).click();
  await expect(page.locator('table.audit')).toContainText('client_secret_basic');
  await shot(page, 'token-requests');

  // Disable, then delete the secret.
  await page.getByRole('tab', { name: 'General' }).click();
  const secretRow = page.locator('table.secrets tbody tr').first();
  await secretRow.getByRole('button', { name: 'Disable' }).click();
  await expect(secretRow).toContainText('Disabled');
  await expect(secretRow.getByRole('button', { name: 'Delete' })).toBeEnabled();
  await secretRow.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('No client secrets yet.')).toBeVisible();
  await shot(page, 'secret-deleted');

  // M2M applications share the client model: same credentials page.
  await page.goto('/m2m');
  await hydrated(page);
  await page.getByRole('button', { name: 'Add Application' }).click();
  const m2m = page.getByRole('region', { name: 'Add Application' });
  await m2m.getByLabel('Application Name').fill('nightly-etl');
  await m2m.getByRole('button', { name: 'Add' }).click();
  await expect(page).toHaveURL(/\/m2m\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: 'nightly-etl' })).toBeVisible();
  await page.locator('.flowchart .node.agent').click();
  await page.getByRole('button', { name: 'Add client_secret' }).click();
  await expect(page.locator('.secret-once code')).toContainText('writcs_');
  await shot(page, 'm2m-application');
  const m2mUrl = page.url();

  // Sign-In › Federated Credential Provider Management: an OIDC provider with pasted JWKS.
  const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  await page.goto('/federation-providers');
  await hydrated(page);
  await openProviderForm(page, 'oidc');
  const prov = page.getByRole('region', { name: 'Add OIDC Provider' });
  await prov.getByLabel(/^Name/).fill('cluster-east');
  await prov.getByLabel('Issuer', { exact: true }).fill('https://oidc.cluster-east.example');
  await prov.getByLabel(/ResourceServer identifier/).fill('writ');
  await prov.locator('select[name="key_source"]').selectOption('pasted');
  await prov.getByLabel('JWKS', { exact: true }).fill(JSON.stringify({ keys: [{ ...issuerKey, kid: 'k1', use: 'sig', alg: 'ES256' }] }));
  await prov.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('table.providers')).toContainText('cluster-east');
  await shot(page, 'federation-provider');
  // Edit: a description and a trust condition (a bad one is refused, nothing lost).
  await page.locator('table.providers tr', { hasText: 'cluster-east' }).getByRole('button', { name: 'Edit' }).click();
  const provEditPanel = page.getByRole('region', { name: 'Edit Provider' });
  await provEditPanel.getByLabel('Description').fill('East cluster service accounts');
  await provEditPanel.getByLabel(/^Trust condition/).fill("jwt.claims.sub.startsWith(");
  await provEditPanel.getByRole('button', { name: 'Save changes' }).click();
  await expect(provEditPanel.getByRole('alert')).toContainText('trust_condition');
  await provEditPanel.getByLabel(/^Trust condition/).fill("jwt.claims.sub.startsWith('system:serviceaccount:')");
  await provEditPanel.getByRole('button', { name: 'Save changes' }).click();
  await expect(provEditPanel).toHaveCount(0);
  await expect(page.locator('table.providers')).toContainText('East cluster service accounts');
  await shot(page, 'federation-provider-edited');

  // The application's Federated Credentials tab: Kubernetes mode shows the expression it stands for.
  await page.goto(m2mUrl);
  await hydrated(page);
  await page.locator('.flowchart .node.agent').click();
  await page.getByRole('tab', { name: 'Federated Credentials' }).click();
  const addFederated = async (kind: string, provider: string, name: string) => {
    await page.locator('select[name="credential_type"]').selectOption(kind);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('select[name="provider"]').selectOption({ label: provider });
    await page.locator('input[name="credential_name"]').fill(name);
  };
  await addFederated('oidc', 'cluster-east', 'k8s-etl');
  await page.getByLabel('Namespace').fill('data');
  await page.getByLabel('Service Account').fill('etl-runner');
  await expect(page.locator('.panel code.expression')).toHaveText("jwt.claims.sub == 'system:serviceaccount:data:etl-runner'");
  await page.getByRole('button', { name: 'Add Application Federated Credential' }).click();
  await expect(page.locator('table.federated')).toContainText('k8s-etl');
  await addFederated('oidc', 'cluster-east', 'k8s-etl');
  await page.getByLabel('Namespace').fill('data');
  await page.getByLabel('Service Account').fill('etl-runner');
  await page.getByRole('button', { name: 'Add Application Federated Credential' }).click();
  await expect(page.getByRole('alert')).toContainText('already has a federated credential');
  await shot(page, 'federated-credential');

  // PCA: a provider with the company's root and intermediate, a credential
  // in Certificate mode, then the Test credential panel's dry run.
  const pki = makePki();
  await page.goto('/federation-providers');
  await hydrated(page);
  await openProviderForm(page, 'pca');
  const pcaPanel = page.getByRole('region', { name: 'Add PCA Provider' });
  await pcaPanel.getByLabel(/^Name/).fill('corp-pca');
  await pcaPanel.getByLabel(/Root certificate/).fill(pki.root);
  await pcaPanel.getByLabel(/Intermediate certificates/).fill(pki.intermediate);
  await pcaPanel.getByLabel(/Trust condition/).fill("cert.issuer.CN == ");
  await pcaPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('trust_condition: line 1');
  await pcaPanel.getByLabel(/Trust condition/).fill("cert.issuer.CN == 'E2E Intermediate'");
  await pcaPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('table.providers')).toContainText('root: E2E Root');
  await shot(page, 'pca-provider');

  await page.goto(m2mUrl);
  await hydrated(page);
  const m2mClientId = (await page.locator("code.client-id").first().textContent())!.trim();
  await page.locator('.flowchart .node.agent').click();
  await page.getByRole('tab', { name: 'Federated Credentials' }).click();
  await addFederated('pca', 'corp-pca', 'pca-etl');
  await page.getByLabel('Certificate CN').fill('etl-worker');
  await expect(page.locator('.panel code.expression')).toHaveText("cert.subject.CN == 'etl-worker'");
  await page.getByLabel(/Attribute mapping/).fill("'pca:' + cert.subject.CN");
  await page.getByRole('button', { name: 'Add Application Federated Credential' }).click();
  await expect(page.locator('table.federated')).toContainText('pca-etl');
  await shot(page, 'pca-credential');

  await page.getByRole('tab', { name: 'Test credential' }).click();
  const tokenUrl = `${process.env.WRIT_E2E_URL}/api/v2/iauths_system/oauth2/token`;
  await page.getByLabel('Federated credential name').fill('pca-etl');
  await page.getByLabel('client_assertion').fill(pki.assertion(m2mClientId, tokenUrl));
  await page.getByLabel('client_x509 (PEM)').fill(pki.leaf);
  await page.getByLabel('client_x509_chain (PEM)').fill(pki.intermediate);
  await page.getByRole('button', { name: 'Run checks' }).click();
  await expect(page.locator('.test-result')).toContainText('Passed: a token would be issued');
  await expect(page.locator('code.subject')).toHaveText(`${m2mClientId}:pca:etl-worker`);
  await shot(page, 'test-credential-passed');
  await page.getByLabel('client_assertion').fill(pki.assertion('someone-else', tokenUrl));
  await page.getByRole('button', { name: 'Run checks' }).click();
  await expect(page.locator('.test-result')).toContainText('Refused');
  await expect(page.locator('li.check.fail')).toContainText('signature');
  await shot(page, 'test-credential-refused');
  // The General tab's trust-source tabs show that type's providers in place.
  await page.getByRole('tab', { name: 'PCA Federated Credential Provider' }).click();
  await expect(page.locator('table.providers')).toContainText('corp-pca');
  await expect(page.locator('table.providers')).not.toContainText('cluster-east');
  await shot(page, 'pca-trust-source-tab');

  // Asset Management › Credential: create → details → edit (blank keeps the
  // key) → disable → delete. The key is never shown back.
  await page.goto('/credentials');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create Credential' }).click();
  const credPanel = page.getByRole('region', { name: 'Create Credential' });
  await credPanel.getByLabel('Credential Name').fill('OpenAI production');
  await credPanel.getByLabel('Description').fill('LLM key for the billing agent');
  await credPanel.getByLabel('API key ID').fill('openai-prod');
  await credPanel.getByLabel('API Key', { exact: true }).fill('sk-live-e2e-not-shown-again');
  await shot(page, 'credential-create');
  await credPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/credentials\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: 'OpenAI production' })).toBeVisible();
  await expect(page.locator('code.identifier')).toHaveText('openai-prod');
  await expect(page.locator('body')).not.toContainText('sk-live-e2e-not-shown-again');
  await hydrated(page);
  await shot(page, 'credential-details');
  // Grant it to the M2M application: its flowchart gains an LLM node.
  const credUrl = page.url();
  await page.getByLabel('Agent or application client_id').fill(m2mClientId);
  await page.getByRole('button', { name: 'Grant' }).click();
  await expect(page.locator('ul.grants')).toContainText(m2mClientId);
  await page.goto(m2mUrl);
  await hydrated(page);
  await expect(page.locator('.flowchart .node.llm')).toContainText('OpenAI production');
  await shot(page, 'flowchart-llm-node');
  await page.goto(credUrl);
  await hydrated(page);
  await page.getByRole('button', { name: 'Edit' }).click();
  const editPanel = page.getByRole('region', { name: 'Edit Credential' });
  await editPanel.getByLabel('Credential Name').fill('OpenAI (prod)');
  await editPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'OpenAI (prod)' })).toBeVisible();
  await page.getByRole('button', { name: 'Delete' }).isDisabled();
  await page.getByRole('button', { name: 'Disable' }).click();
  await expect(page.locator('.status.off')).toBeVisible();
  await shot(page, 'credential-disabled');
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/credentials$/);
  await expect(page.locator('body')).toContainText('No credentials yet.');

  // The vault's master key, and the online re-wrap after a rotation.
  await expect(page.locator('code.master-key-id')).not.toBeEmpty();
  await page.getByRole('button', { name: 'Re-wrap sealed records' }).click();
  await expect(page.getByRole('status')).toContainText('already used the primary key');

  // Asset Management › Credential Provider: an OAuth provider (scopes typed
  // one per Enter), its callback URL to register, edit with a blank secret
  // (keeps it), disable, delete; a JWT provider beside it.
  await page.getByRole('link', { name: 'Credential Provider' }).click();
  await expect(page).toHaveURL(/\/credential-providers$/);
  await hydrated(page);
  await page.getByRole('button', { name: 'Create Credential Provider' }).click();
  const provPanel = page.getByRole('region', { name: 'Create Credential Provider' });
  await provPanel.getByLabel('Name', { exact: true }).fill('Google Calendar');
  await provPanel.getByLabel('Description').fill('Calendar access for the scheduling agent');
  await provPanel.getByLabel('Identifier').fill('google-calendar');
  await provPanel.getByLabel('Client ID').fill('writ-calendar');
  await provPanel.getByLabel('Client Secret').fill('calendar-secret-not-shown-again');
  await provPanel.getByLabel('Authorization Endpoint').fill('https://accounts.example.com/o/oauth2/auth');
  await provPanel.getByLabel('Token Endpoint').fill('https://oauth2.example.com/token');
  for (const sc of ['openid', 'calendar.readonly']) {
    await provPanel.getByLabel('Default scopes').fill(sc);
    await provPanel.getByLabel('Default scopes').press('Enter');
  }
  await expect(provPanel.getByRole('list', { name: 'Scopes' })).toContainText('calendar.readonly');
  await shot(page, 'oauth-provider-create');
  await provPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/credential-providers\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: 'Google Calendar' })).toBeVisible();
  await expect(page.locator('.copy-field code')).toHaveText(/\/oauth\/callback$/);
  await expect(page.locator('dl.facts')).toContainText('openid calendar.readonly');
  await expect(page.locator('body')).not.toContainText('calendar-secret-not-shown-again');
  await hydrated(page);
  await shot(page, 'oauth-provider-details');
  await page.getByRole('button', { name: 'Edit' }).click();
  const provEdit = page.getByRole('region', { name: 'Edit Credential Provider' });
  await provEdit.getByLabel('Name', { exact: true }).fill('Google Calendar (prod)');
  await provEdit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'Google Calendar (prod)' })).toBeVisible();
  await page.getByRole('button', { name: 'Disable' }).click();
  await expect(page.locator('.status.off')).toBeVisible();
  await shot(page, 'oauth-provider-disabled');
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/credential-providers$/);
  await hydrated(page);
  await page.getByRole('button', { name: 'Create Credential Provider' }).click();
  await provPanel.getByLabel('JWT').check();
  await provPanel.getByLabel('Name', { exact: true }).fill('Partner API tokens');
  await provPanel.getByLabel('Identifier').fill('partner-api');
  await provPanel.getByLabel('Generate Short Token').check();
  await provPanel.getByLabel('Issuer Whitelist').fill('https://partner.example');
  await provPanel.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'Partner API tokens' })).toBeVisible();
  await expect(page.locator('dl.facts')).toContainText('ES256');
  await expect(page.locator('dl.facts')).toContainText('1 hour');
  await shot(page, 'jwt-provider-details');

  // Sign out ends the session.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test('an agent is edited, disabled and deleted from the list', async ({ page }) => {
  await signIn(page);

  await page.getByRole('button', { name: 'Register Agent Identity' }).click();
  const panel = page.getByRole('region', { name: 'Register Agent Identity' });
  await panel.getByLabel('Agent Name').fill('e2e-doomed-agent');
  await panel.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { name: 'e2e-doomed-agent' })).toBeVisible();

  // The list's Actions column: Edit opens the agent's page with the edit panel.
  await page.goto('/agents');
  await hydrated(page);
  let row = page.locator('table.clients tbody tr', { hasText: 'e2e-doomed-agent' });
  await expect(row).toContainText('Enabled');
  await expect(row.getByRole('button', { name: 'Delete' })).toBeDisabled();
  await expect(row.getByRole('button', { name: 'Delete' })).toHaveAttribute('title', 'Disable the agent before deleting it');
  await shot(page, 'agent-list-actions');
  await row.getByRole('link', { name: 'Edit' }).click();
  await hydrated(page);
  const edit = page.getByRole('region', { name: 'Edit', exact: true });
  await edit.getByLabel('Agent Name').fill('e2e-retired-agent');
  await edit.getByLabel('Owner').fill('security-team');
  await shot(page, 'agent-edit');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'e2e-retired-agent' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Edit', exact: true })).toHaveCount(0);

  // Disable and delete from the list.
  await page.goto('/agents');
  await hydrated(page);
  row = page.locator('table.clients tbody tr', { hasText: 'e2e-retired-agent' });
  await expect(row).toContainText('security-team');
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  await expect(row.getByRole('button', { name: 'Delete' })).toBeEnabled();
  await shot(page, 'agent-disabled-in-list');
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('table.clients tbody tr', { hasText: 'e2e-retired-agent' })).toHaveCount(0);
  await shot(page, 'agent-deleted-from-list');
});


test('a PCA client-config.json downloaded from the console works with no edit', async ({ page }) => {
  const pki = makePki();
  const suffix = randomUUID().slice(0, 8);
  const provider = (await adminApi('POST', '/federated-credential-providers', {
    type: 'pca', name: `download-pca-${suffix}`, root_certificate: pki.root, intermediate_certificates: [pki.intermediate] })).json;
  const app = (await adminApi('POST', '/m2m-applications', { name: `pca-download-${suffix}` })).json;
  await adminApi('POST', `/m2m-applications/${app.id}/federated-credentials`, {
    type: 'pca', provider_id: provider.id, name: 'pca-download',
    verification: { mode: 'certificate', cn: 'etl-worker' } });

  await signIn(page);
  await page.goto(`/m2m/${app.id}`);
  await hydrated(page);
  await page.getByRole('tab', { name: 'SDK Configuration' }).click();
  await page.locator('select[name="authn_method"]').selectOption('PCA');
  await page.locator('input[name="federated_credential_name"]').fill('pca-download');
  await page.getByLabel('Client certificate (PEM)').fill(pki.leaf);
  await expect(page.locator('pre.config')).toContainText('"clientX509Certificate": "-----BEGIN CERTIFICATE-----');
  // The scope field offers what the application was granted.
  await expect(page.locator('datalist#granted-scopes option')).toHaveCount(1);
  await shot(page, 'sdk-config-pca');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download' }).click(),
  ]);
  const saved = path.join(__dirname, '..', 'artifacts', 'client-config-pca.json');
  await download.saveAs(saved);
  const config = JSON.parse(fs.readFileSync(saved, 'utf8'));
  expect(config.authnConfiguration.clientX509Certificate.trim()).toBe(pki.leaf.trim());

  // The unmodified SDK, with only the key exported as the file says.
  const keyPem = fs.readFileSync(pki.leafKeyPath, 'utf8');
  const sdk = spawnSync(process.env.WRIT_E2E_PYTHON!, [path.join(__dirname, '..', 'sdk', 'sdk_get_token.py')], {
    env: { ...process.env, CLOUD_IDAAS_CONFIG_PATH: saved, SSL_CERT_FILE: process.env.WRIT_E2E_CA!,
      [config.authnConfiguration.privateKeyEnvVarName]: keyPem },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = JSON.parse(sdk.stdout.trim().split('\n').pop()!);
  expect(out.access_token, sdk.stdout + sdk.stderr).toBeTruthy();

  // Public keys: a PEM file uploaded as well as pasted.
  await page.locator('.flowchart .node.agent').click();
  await page.getByRole('tab', { name: 'Certificates Credential' }).click();
  const keyFile = path.join(path.dirname(pki.leafKeyPath), 'uploaded-public.pem');
  fs.writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey
    .export({ type: 'spki', format: 'pem' }).toString());
  await page.getByLabel('Or upload a PEM / CRT file').setInputFiles(keyFile);
  await expect(page.getByLabel('Public key')).toHaveValue(/BEGIN PUBLIC KEY/);
  await page.getByRole('button', { name: 'Manually Add' }).click();
  await expect(page.locator('table.public-keys tbody tr').first()).toContainText('EC P-384');
  await shot(page, 'public-key-uploaded');
});

test('seed 003: a provider is created once under Sign-In and attached on the agent tab', async ({ page }) => {
  await signIn(page);
  const pki = makePki();

  // Step 1: Sign-In › Federated Credential Provider Management, one button, type, Next, form.
  await page.goto('/federation-providers');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Federated Credential Provider Management' })).toBeVisible();
  await page.getByRole('button', { name: 'Add Federated Credential Provider' }).click();
  await page.locator('select[name="provider_type"]').selectOption('pca');
  await shot(page, 'seed003-provider-type');
  await page.getByRole('button', { name: 'Next' }).click();
  const form = page.getByRole('region', { name: 'Add PCA Provider' });
  await form.getByLabel(/^Name/).fill('seed003-pca');
  await form.getByLabel(/Root certificate/).fill(pki.root);
  await form.getByLabel(/Intermediate certificates/).fill(pki.intermediate);
  await shot(page, 'seed003-provider-form');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('table.providers tbody tr', { hasText: 'seed003-pca' })).toHaveCount(1);
  await shot(page, 'seed003-provider-created');
  const before = await adminApi('GET', '/federated-credential-providers');
  expect(before.status).toBe(200);

  // Step 2: an agent registered for PCA lands on its PCA tab, which attaches the provider.
  await page.goto('/agents');
  await hydrated(page);
  await page.getByRole('button', { name: 'Register Agent Identity' }).click();
  const reg = page.getByRole('region', { name: 'Register Agent Identity' });
  await reg.getByLabel('Agent Name').fill('seed003-agent');
  await reg.locator('select[name="auth_type"]').selectOption('pca');
  await reg.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/agents\/[0-9a-f-]{36}\?tab=pca$/);
  await hydrated(page);
  const pcaTab = page.getByRole('tab', { name: 'PCA Federated Credential Provider' });
  await expect(pcaTab).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByText('No PCA provider is attached to this client yet.')).toBeVisible();
  await page.getByRole('button', { name: 'Add Federated Credential Provider' }).click();
  const attach = page.getByRole('region', { name: 'Add Federated Credential Provider' });
  await attach.locator('select[name="source"]').selectOption({ label: 'seed003-pca' });
  await attach.getByLabel(/^Credential name/).fill('seed003-worker');
  await expect(attach.locator('select[name="mode"] option:checked')).toHaveText('Certificate CN');
  await attach.getByLabel('Certificate CN').fill('etl-worker');
  await expect(attach.locator('code.expression')).toHaveText("cert.subject.CN == 'etl-worker'");
  await shot(page, 'seed003-attach-form');
  await attach.getByRole('button', { name: 'Save' }).click();
  const attached = page.locator('table.attached tbody tr');
  await expect(attached).toHaveCount(1);
  await expect(attached).toContainText('seed003-pca');
  await expect(attached).toContainText('seed003-worker');
  await shot(page, 'seed003-attached');

  // Attaching made the agent a federated credential, not a second provider.
  const after = await adminApi('GET', '/federated-credential-providers');
  expect(after.json.filter((p: any) => p.name === 'seed003-pca')).toHaveLength(1);
  expect(after.json).toHaveLength(before.json.length);
  await page.getByRole('tab', { name: 'Federated Credentials' }).click();
  await expect(page.locator('table.federated')).toContainText('seed003-worker');
  await page.goto('/federation-providers');
  await hydrated(page);
  await expect(page.locator('table.providers tbody tr', { hasText: 'seed003-pca' })).toHaveCount(1);
  await shot(page, 'seed003-one-provider');
});

test('register agent: each authentication type lands on the tab that sets it up', async ({ page }) => {
  await signIn(page);
  const types: [string, string, string][] = [
    ['client_secret', 'Client Secret Credential', 'Add client_secret'],
    ['private_key_jwt', 'Certificates Credential', 'Manually Add'],
    ['pca', 'PCA Federated Credential Provider', 'Add Federated Credential Provider'],
    ['oidc', 'OIDC Federation Trust Source', 'Add Federated Credential Provider'],
    ['pkcs7', 'PKCS#7 Federation Trust Source', 'Add Federated Credential Provider'],
  ];
  for (const [value, tab, button] of types) {
    await page.goto('/agents');
    await hydrated(page);
    await page.getByRole('button', { name: 'Register Agent Identity' }).click();
    const reg = page.getByRole('region', { name: 'Register Agent Identity' });
    await expect(reg.locator('select[name="auth_type"] option')).toHaveCount(5);
    await reg.getByLabel('Agent Name').fill(`auth-${value.replace('_', '-')}`);
    await reg.locator('select[name="auth_type"]').selectOption(value);
    await reg.getByRole('button', { name: 'Register' }).click();
    await expect(page).toHaveURL(new RegExp(`/agents/[0-9a-f-]{36}\\?tab=${value}$`));
    await hydrated(page);
    await expect(page.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByRole('button', { name: button })).toBeVisible();
    await shot(page, `register-${value}`);
  }
  // The service stored each type; an unknown one is a clear 400.
  const agents = await adminApi('GET', '/agents');
  for (const [value] of types) {
    expect(agents.json.find((a: any) => a.name === `auth-${value.replace('_', '-')}`)?.auth_type).toBe(value);
  }
  const bad = await adminApi('POST', '/agents', { name: 'x', owner: 'y', auth_type: 'password' });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.json)).toContain('auth_type');
});

test('grants of every kind are listed and revoked on the client page', async ({ page }) => {
  page.on('console', (m) => { if (m.type() === 'error') console.log(`browser console: ${m.text().slice(0, 300)}`); });
  await signIn(page);
  await page.getByRole('button', { name: 'Register Agent Identity' }).click();
  const reg = page.getByRole('region', { name: 'Register Agent Identity' });
  await reg.getByLabel('Agent Name').fill('e2e-revoke-agent');
  await reg.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { name: 'e2e-revoke-agent' })).toBeVisible();
  const clientId = (await page.locator('code.client-id').textContent())!.trim();
  const agentUrl = page.url();

  // A vault credential and a credential provider granted to it (admin API).
  const cred = await adminApi('POST', '/credentials', {
    name: 'Revocable key', business_type: 'llm', identifier: `revocable-${Date.now()}`, api_key: 'sk-e2e-revoke' });
  expect(cred.status).toBe(201);
  expect((await adminApi('POST', `/credentials/${cred.json.id}/grants`, { client_id: clientId })).status).toBe(201);
  const prov = await adminApi('POST', '/credential-providers', {
    type: 'jwt', name: 'Revocable JWT', identifier: `revocable-jwt-${Date.now()}`, issuer_whitelist: ['https://partner.example'] });
  expect(prov.status).toBe(201);
  expect((await adminApi('POST', `/credential-providers/${prov.json.id}/grants`, { client_id: clientId })).status).toBe(201);

  // Through the list (client-side navigation), as an admin gets there.
  await page.goto('/agents');
  await hydrated(page);
  await page.locator('table.clients tbody tr', { hasText: 'e2e-revoke-agent' }).getByRole('link', { name: 'Details' }).click();
  await expect(page).toHaveURL(agentUrl.replace(/\?.*$/, ''));
  await page.locator('.flowchart .node.agent').click();
  await expect(page.getByRole('region', { name: 'May reach' })).toBeVisible();
  const reach = page.locator('table.reach tbody tr');
  await expect(reach).toHaveCount(3);
  await expect(page.locator('table.reach tr[data-kind="resource_server"]')).toContainText('urn:cloud:idaas:pam');
  await expect(page.locator('table.reach tr[data-kind="credential"]')).toContainText('Revocable key');
  await expect(page.locator('table.reach tr[data-kind="credential_provider"]')).toContainText('Revocable JWT');
  await shot(page, 'client-reach');

  for (const kind of ['credential', 'credential_provider', 'resource_server']) {
    await page.locator(`table.reach tr[data-kind="${kind}"]`).getByRole('button', { name: 'Revoke' }).click();
    await expect(page.locator(`table.reach tr[data-kind="${kind}"]`)).toHaveCount(0);
    await shot(page, `client-revoked-${kind}`);
  }
  await expect(page.getByText('No permissions granted.')).toBeVisible();
  expect((await adminApi('GET', `/credentials/${cred.json.id}/grants`)).json).toHaveLength(0);
  expect((await adminApi('GET', `/credential-providers/${prov.json.id}/grants`)).json).toHaveLength(0);
});

test('an AccessKey pair is created in the vault and never shown back', async ({ page }) => {
  await signIn(page);
  await page.goto('/credentials');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create Credential' }).click();
  const panel = page.getByRole('region', { name: 'Create Credential' });
  await panel.locator('select[name="credential_type"]').selectOption('ak_sk');
  await panel.getByLabel('Credential Name').fill('Cloud account (AK/SK)');
  await panel.getByLabel(/API key ID/).fill('cloud-account-ak');
  await panel.getByLabel('AccessKey ID').fill('LTAI5tE2eExample');
  await panel.getByLabel('AccessKey Secret').fill('e2e-ak-secret-not-shown-again');
  await shot(page, 'credential-ak-sk-create');
  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'Cloud account (AK/SK)' })).toBeVisible();
  await expect(page.locator('dl.facts')).toContainText('AccessKey (AK/SK)');
  await expect(page.locator('body')).not.toContainText('e2e-ak-secret-not-shown-again');
  await expect(page.locator('body')).not.toContainText('LTAI5tE2eExample');
  await shot(page, 'credential-ak-sk-details');
});

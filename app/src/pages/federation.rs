//! Sign-In › Authentication Configuration › Federated Credential Provider
//! Management, the Federated Credentials tab of an agent / application, and
//! the Test credential panel.

use crate::api::{
    self, AddFederatedCredential, CreateOidcProvider, CreatePcaProvider, CreatePkcs7Provider,
    DeleteFederatedCredential, DeleteProvider, SetFederatedCredentialEnabled, SetProviderEnabled,
    TestFederatedCredential, UpdateProvider,
};
use crate::components::lifecycle_cells;
use crate::components::{Layout, error_note, fmt_time};
use leptos::prelude::*;
use leptos_meta::Title;
use writ_types::{
    FederatedProviderView, ProviderKind, SimpleModeFields, VerificationMode, simple_mode_expression,
};

pub const ASSERTION_PCA: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";
pub const ASSERTION_OIDC: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";
pub const ASSERTION_PKCS7: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer";

/// The label of a kind as the server spelled it (OIDC if unknown).
fn kind_label(kind: &str) -> &'static str {
    ProviderKind::parse(kind).map_or(ProviderKind::Oidc.label(), ProviderKind::label)
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    view! { <Title text="Federated Credential Providers · Writ"/><Layout><ProvidersBody only=None/></Layout> }
}

/// The agent's General tab: one provider type's trust sources, managed in place.
#[component]
pub fn TrustSources(kind: ProviderKind) -> impl IntoView {
    view! { <ProvidersBody only=Some(kind)/> }
}

fn text(s: RwSignal<String>, name: &'static str, placeholder: &'static str) -> impl IntoView {
    view! {
        <textarea name=name class="mono" placeholder=placeholder
            prop:value=move || s.get() on:input=move |ev| s.set(event_target_value(&ev))></textarea>
    }
}

/// Provider management; `only` narrows it to one type (the agent page's tabs).
/// Long because it is mostly `view!` markup: the list and the two-step
/// create form with each type's fields, as the seed draws them.
#[component]
fn ProvidersBody(only: Option<ProviderKind>) -> impl IntoView {
    let oidc = ServerAction::<CreateOidcProvider>::new();
    let pca = ServerAction::<CreatePcaProvider>::new();
    let pkcs7 = ServerAction::<CreatePkcs7Provider>::new();
    let toggle = ServerAction::<SetProviderEnabled>::new();
    let delete = ServerAction::<DeleteProvider>::new();
    let update = ServerAction::<UpdateProvider>::new();
    let list = Resource::new(
        move || {
            (
                oidc.version().get(),
                pca.version().get(),
                pkcs7.version().get(),
                toggle.version().get(),
                delete.version().get(),
                update.version().get(),
            )
        },
        |_| api::list_federated_providers(),
    );
    // Which "Add … Provider" panel is open, if any.
    let open = RwSignal::new(None::<ProviderKind>);
    let s = || RwSignal::new(String::new());
    let (name, description, trust_condition) = (s(), s(), s());
    let (issuer, audience, jwks, jwks_uri) = (s(), s(), s(), s());
    let key_source = RwSignal::new("discovery".to_string());
    let insecure = RwSignal::new(false);
    let (root, intermediates) = (s(), s());
    let (trust_source, cert, account, max_age) =
        (RwSignal::new("aws_ec2".to_string()), s(), s(), s());
    // The provider being edited (name and type are fixed).
    let editing = RwSignal::new(None::<FederatedProviderView>);
    let (edit_description, edit_condition, edit_jwks, edit_age) = (s(), s(), s(), s());
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            editing.set(None);
        }
    });
    Effect::new(move |_| {
        let ok = matches!(oidc.value().get(), Some(Ok(_)))
            || matches!(pca.value().get(), Some(Ok(_)))
            || matches!(pkcs7.value().get(), Some(Ok(_)));
        if ok {
            open.set(None);
        }
    });
    let opener = move |k: ProviderKind| {
        only.is_none_or(|o| o == k).then(|| {
            let label = format!("Add {} Provider", k.label());
            view! { <button class="primary" on:click=move |_| open.set(Some(k))>{label}</button> }
        })
    };
    view! {
        <div class="page-head">
            {match only {
                Some(k) => view! { <h2>{match k {
                    ProviderKind::Pca => "PCA Federated Credential Provider",
                    ProviderKind::Oidc => "OIDC Federation Trust Source",
                    ProviderKind::Pkcs7 => "PKCS#7 Federation Trust Source",
                }}</h2> }.into_any(),
                None => view! { <h1>"Federated Credential Providers"</h1> }.into_any(),
            }}
            <div class="actions">
                {ProviderKind::ALL.into_iter().map(opener).collect_view()}
            </div>
        </div>
        <p class="muted">"Sign-In › Authentication Configuration. A provider says which external authority Writ trusts: your private CA (PCA), an OIDC issuer (a Kubernetes cluster, GitHub Actions, a cloud's VM identity), or a cloud's signed instance identity documents (PKCS#7). Each agent or application then names, in a federated credential, which of that authority's identities it accepts."</p>
        <Show when=move || open.get().is_some()>
            <section class="panel" aria-label=move || format!("Add {} Provider", open.get().unwrap_or(ProviderKind::Oidc).label())>
                <h2>{move || format!("Add {} Provider", open.get().unwrap_or(ProviderKind::Oidc).label())}</h2>
                <label>"Name (a-z, 0-9, _ and -; cannot change later)" <input type="text" name="provider_name" bind:value=name/></label>
                <label>"Description" <input type="text" name="provider_description" bind:value=description maxlength="128"/></label>
                {move || match open.get() {
                    Some(ProviderKind::Pca) => view! {
                        <label>"Root certificate (PEM)" {text(root, "root_certificate", "-----BEGIN CERTIFICATE-----")}</label>
                        <label>"Intermediate certificates (PEM, one or more)" {text(intermediates, "intermediate_certificates", "-----BEGIN CERTIFICATE-----")}</label>
                    }.into_any(),
                    Some(ProviderKind::Pkcs7) => view! {
                        <label>"Trust source"
                            <select name="trust_source" on:change=move |ev| trust_source.set(event_target_value(&ev))>
                                <option value="aws_ec2" selected>"AWS EC2"</option>
                                <option value="alibaba_cloud_ecs">"Alibaba Cloud ECS/ECI"</option>
                            </select>
                        </label>
                        <label>"Verification certificate (PEM)" {text(cert, "verification_certificate", "-----BEGIN CERTIFICATE-----")}</label>
                        <label>"Account ID" <input type="text" name="account_id" bind:value=account/></label>
                        <label>"Maximum age in seconds (blank: the default. AWS: counted from instance launch, pendingTime, default 604,800 = 7 days; Alibaba: counted from signing, default 4,500 = 75 minutes)" <input type="text" name="max_document_age_seconds" bind:value=max_age/></label>
                        <Show when=move || trust_source.get() == "aws_ec2">
                            <p class="warning">"AWS instance identity documents carry no audience or nonce: anyone who captures one can replay it for as long as the instance lives. A 7-day maximum instance age applies unless you set one: set the shortest your instances allow, and prefer OIDC or PCA where you can."</p>
                        </Show>
                    }.into_any(),
                    _ => view! {
                        <label>"Issuer" <input type="text" name="issuer" bind:value=issuer placeholder="https://oidc.example.com"/></label>
                        <label>"ResourceServer identifier (expected aud)" <input type="text" name="audience" bind:value=audience/></label>
                        <label>"Verification keys"
                            <select name="key_source" on:change=move |ev| key_source.set(event_target_value(&ev))>
                                <option value="discovery" selected>"By discovery from the issuer"</option>
                                <option value="jwks_uri">"From a JWKS URL"</option>
                                <option value="pasted">"Pasted JWKS (issuer not reachable)"</option>
                            </select>
                        </label>
                        {move || match key_source.get().as_str() {
                            "pasted" => view! { <label>"JWKS" {text(jwks, "jwks", "{\"keys\": [...]}")}</label> }.into_any(),
                            "jwks_uri" => view! { <label>"JWKS URL" <input type="text" name="jwks_uri" bind:value=jwks_uri placeholder="https://issuer.example/keys"/></label> }.into_any(),
                            _ => view! { <p class="muted">"Writ reads the issuer's /.well-known/openid-configuration, caches the keys and refetches them when a token names a new key."</p> }.into_any(),
                        }}
                        <label class="check"><input type="checkbox" name="allow_insecure_local_endpoints" prop:checked=move || insecure.get()
                            on:change=move |ev| insecure.set(event_target_checked(&ev))/>
                            " Allow http and local addresses (testing only)"</label>
                    }.into_any(),
                }}
                <label>"Trust condition (optional expression, checked before every credential's verification)" {text(trust_condition, "trust_condition", "e.g. jwt.claims.'kubernetes.io'.namespace.startsWith('prod-')")}</label>
                {move || oidc.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                {move || pca.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                {move || pkcs7.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        let (n, d, t) = (name.get(), description.get(), trust_condition.get());
                        match open.get() {
                            Some(ProviderKind::Pca) => { pca.dispatch(CreatePcaProvider { name: n, description: d, root_certificate: root.get(), intermediate_certificates: intermediates.get(), trust_condition: t }); }
                            Some(ProviderKind::Pkcs7) => { pkcs7.dispatch(CreatePkcs7Provider { name: n, description: d, trust_source: trust_source.get(), verification_certificate: cert.get(), account_id: account.get(), max_document_age_seconds: max_age.get(), trust_condition: t }); }
                            _ => { oidc.dispatch(CreateOidcProvider { name: n, description: d, issuer: issuer.get(), audience: audience.get(),
                                key_source: key_source.get(), jwks_uri: jwks_uri.get(), jwks: jwks.get(), allow_insecure_local_endpoints: insecure.get(), trust_condition: t }); }
                        }
                    }>"Save"</button>
                    <button on:click=move |_| open.set(None)>"Cancel"</button>
                </div>
            </section>
        </Show>
        {move || editing.get().map(|p| {
            let id = p.id.clone();
            let pasted = p.key_source.as_deref() == Some("pasted");
            let pkcs7_kind = p.kind == ProviderKind::Pkcs7.as_str();
            view! {
                <section class="panel" aria-label="Edit Provider">
                    <h2>{format!("Edit {} ({})", p.name, kind_label(&p.kind))}</h2>
                    <p class="muted">"The name and type cannot change. Tokens are checked against the new settings at once."</p>
                    <label>"Description" <input type="text" name="edit_provider_description" bind:value=edit_description maxlength="128"/></label>
                    <label>"Trust condition (blank removes it)" {text(edit_condition, "edit_trust_condition", "e.g. jwt.claims.'kubernetes.io'.namespace.startsWith('prod-')")}</label>
                    {pasted.then(|| view! { <label>"Replace the pasted JWKS (blank keeps the keys)" {text(edit_jwks, "edit_jwks", "{\"keys\": [...]}")}</label> })}
                    {pkcs7_kind.then(|| view! { <label>"Maximum age in seconds (blank keeps it)" <input type="text" name="edit_max_age" bind:value=edit_age/></label> })}
                    {move || update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                    <div class="actions">
                        <button class="primary" on:click=move |_| {
                            update.dispatch(UpdateProvider { provider: id.clone(), description: edit_description.get(), trust_condition: edit_condition.get(), jwks: edit_jwks.get(), max_document_age_seconds: edit_age.get() });
                        }>"Save changes"</button>
                        <button on:click=move |_| editing.set(None)>"Cancel"</button>
                    </div>
                </section>
            }
        })}
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.iter().all(|p| only.is_some_and(|o| o.as_str() != p.kind)) => view! { <p class="muted">"No providers yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list providers">
                            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Trust"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{l.into_iter().filter(|p| only.is_none_or(|o| o.as_str() == p.kind)).map(|p| {
                                let (id1, id2, enabled) = (p.id.clone(), p.id.clone(), p.enabled);
                                let edit = {
                                    let p = p.clone();
                                    move |_| {
                                        edit_description.set(p.description.clone());
                                        edit_condition.set(p.trust_condition.clone().unwrap_or_default());
                                        edit_jwks.set(String::new());
                                        edit_age.set(p.max_document_age_seconds.map(|a| a.to_string()).unwrap_or_default());
                                        editing.set(Some(p.clone()));
                                    }
                                };
                                view! {
                                    <tr>
                                        <td>{p.name.clone()}<br/><span class="muted">{p.description.clone()}</span><br/>
                                            <button class="small" on:click=edit>"Edit"</button></td>
                                        <td>{kind_label(&p.kind)}</td>
                                        <td>{provider_details(&p)}</td>
                                        {lifecycle_cells("provider", enabled,
                                            move || { toggle.dispatch(SetProviderEnabled { provider: id1.clone(), enabled: !enabled }); },
                                            move || { delete.dispatch(DeleteProvider { provider: id2.clone() }); })}
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

fn provider_details(p: &FederatedProviderView) -> impl IntoView + use<> {
    let lines: Vec<String> = match ProviderKind::parse(&p.kind) {
        Some(ProviderKind::Pca) => {
            let mut l = vec![format!(
                "root: {}",
                p.root_subject.clone().unwrap_or_default()
            )];
            l.extend(
                p.intermediate_subjects
                    .iter()
                    .map(|s| format!("intermediate: {s}")),
            );
            l
        }
        Some(ProviderKind::Pkcs7) => vec![
            format!(
                "{} · account {}",
                match p.trust_source.as_deref() {
                    Some("alibaba_cloud_ecs") => "Alibaba Cloud ECS/ECI",
                    _ => "AWS EC2",
                },
                p.account_id.clone().unwrap_or_default()
            ),
            p.max_document_age_seconds
                .map(|a| format!("max age {a} s"))
                .unwrap_or_else(|| "max age: default".into()),
        ],
        _ => vec![
            p.issuer.clone().unwrap_or_default(),
            format!("aud {}", p.audience.clone().unwrap_or_default()),
            match p.key_source.as_deref() {
                Some("jwks_uri") => format!("keys from {}", p.jwks_uri.clone().unwrap_or_default()),
                Some("discovery") => "keys by discovery".into(),
                _ => "pasted JWKS".into(),
            },
        ],
    };
    let tc = p.trust_condition.clone();
    view! {
        {lines.into_iter().map(|l| view! { <code>{l}</code><br/> }).collect_view()}
        {tc.map(|t| view! { <span class="muted">"trust condition: "</span><code class="expression">{t}</code> })}
    }
}

/// The expression a simple mode stands for, as the server will store it:
/// the inputs trimmed as the server trims them, the text from the one
/// generator core uses. The PKCS#7 document field depends on the provider's
/// trust source, so it shows as a placeholder. Empty for expression mode.
pub fn preview_expression(mode: VerificationMode, f: &[String; 5]) -> String {
    let [namespace, service_account, principal_id, cn, instance_id] =
        f.each_ref().map(|s| s.trim());
    simple_mode_expression(
        mode,
        &SimpleModeFields {
            namespace,
            service_account,
            principal_id: Some(principal_id).filter(|p| !p.is_empty()),
            cn,
            instance_id,
            instance_field: "<instance id field>",
        },
    )
}

/// A client's federated credentials: the list, the add form and the Test
/// credential panel. Long because it is mostly `view!` markup.
#[component]
pub fn FederatedCredentials(client: String) -> impl IntoView {
    let add = ServerAction::<AddFederatedCredential>::new();
    let toggle = ServerAction::<SetFederatedCredentialEnabled>::new();
    let delete = ServerAction::<DeleteFederatedCredential>::new();
    let cid = StoredValue::new(client);
    let list = Resource::new(
        move || {
            (
                cid.get_value(),
                add.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |(c, ..)| api::list_federated_credentials(c),
    );
    let providers = Resource::new(|| (), |_| api::list_federated_providers());
    // Step 1 picks the type; "Next" shows step 2 (the form).
    let kind = RwSignal::new(ProviderKind::Pca);
    let step2 = RwSignal::new(false);
    let s = || RwSignal::new(String::new());
    let (provider, name, description) = (s(), s(), s());
    let mode = RwSignal::new(VerificationMode::Certificate);
    let (namespace, service_account, principal_id, cn, instance_id) = (s(), s(), s(), s(), s());
    let (expression, mapping) = (s(), s());
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            step2.set(false);
        }
    });
    let fields = move || {
        [
            namespace.get(),
            service_account.get(),
            principal_id.get(),
            cn.get(),
            instance_id.get(),
        ]
    };
    view! {
        <section class="panel" aria-label="Add Application Federated Credential">
            <h3>"Add Application Federated Credential"</h3>
            <Show when=move || !step2.get() fallback=move || view! {
                <p class="muted">{move || format!("Credential type: {}. The provider's trust condition comes first, then this credential's verification; both must pass.", kind.get().label())}</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let k = kind.get();
                        match providers.await {
                            Ok(ps) if ps.iter().all(|p| p.kind != k.as_str()) => view! {
                                <p class="notice-inline">{format!("No {} federated credential provider exists yet: ", k.label())} <a href="/federation-providers">"create one"</a> " first."</p>
                            }.into_any(),
                            Ok(ps) => view! {
                                <label>"Provider"
                                    <select name="provider" on:change=move |ev| provider.set(event_target_value(&ev))>
                                        <option value="">"Choose…"</option>
                                        {ps.into_iter().filter(|p| p.kind == k.as_str()).map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                            }.into_any(),
                            Err(e) => error_note(&e),
                        }
                    })}
                </Suspense>
                <label>"Name (a-z, 0-9, _ and -; cannot change later)" <input type="text" name="credential_name" bind:value=name/></label>
                <label>"Description" <input type="text" name="credential_description" bind:value=description maxlength="128"/></label>
                <label>"Verification"
                    <select name="mode" on:change=move |ev| {
                        if let Some(m) = VerificationMode::parse(&event_target_value(&ev)) {
                            mode.set(m);
                        }
                    }>
                        {move || kind.get().modes().iter().map(|&m| view! { <option value=m.as_str() selected=move || mode.get() == m>{m.label()}</option> }).collect_view()}
                    </select>
                </label>
                {move || match mode.get() {
                    VerificationMode::Kubernetes => view! {
                        <label>"Namespace" <input type="text" name="namespace" bind:value=namespace/></label>
                        <label>"Service Account" <input type="text" name="service_account" bind:value=service_account/></label>
                        <label>"Principal ID (optional: the account's UID, pins the exact object)" <input type="text" name="principal_id" bind:value=principal_id/></label>
                    }.into_any(),
                    VerificationMode::PrincipalId => view! { <label>"Principal ID" <input type="text" name="principal_id" bind:value=principal_id/></label> }.into_any(),
                    VerificationMode::Certificate => view! { <label>"Certificate CN" <input type="text" name="cn" bind:value=cn/></label> }.into_any(),
                    VerificationMode::CloudServer => view! { <label>"Instance ID" <input type="text" name="instance_id" bind:value=instance_id/></label> }.into_any(),
                    VerificationMode::Expression => view! {
                        <label>"Expression (up to 10,240 characters)"
                            <textarea name="expression" class="mono" maxlength="10240" prop:value=move || expression.get()
                                on:input=move |ev| expression.set(event_target_value(&ev))
                                placeholder="jwt.claims.'kubernetes.io'.namespace == 'payments'"></textarea>
                        </label>
                        <p class="muted">"Fields: client.clientId, cert.subject.CN, cert.san.dns, jwt.claims.sub, pkcs7.payload.jsonData.'instance-id' … — keys with dots or dashes go in single quotes."</p>
                    }.into_any(),
                }}
                <Show when=move || mode.get().is_simple()>
                    <p class="muted">"Generated expression: " <code class="expression">{move || preview_expression(mode.get(), &fields())}</code></p>
                </Show>
                <label>"Attribute mapping (optional expression producing activeSubjectUrn)"
                    <textarea name="attribute_mapping" class="mono" prop:value=move || mapping.get()
                        on:input=move |ev| mapping.set(event_target_value(&ev)) placeholder="'k8s:' + jwt.claims.sub"></textarea>
                </label>
                <p class="warning">"With custom subject identity on the resource server, the token's sub becomes <clientId>:<activeSubjectUrn>. A relying cloud's oidc:sub condition sees that value: update its trust policy too."</p>
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        add.dispatch(AddFederatedCredential { client: cid.get_value(), kind: kind.get().as_str().to_owned(), provider_id: provider.get(), name: name.get(), description: description.get(),
                            mode: mode.get().as_str().to_owned(), namespace: namespace.get(), service_account: service_account.get(), principal_id: principal_id.get(),
                            cn: cn.get(), instance_id: instance_id.get(), expression: expression.get(), attribute_mapping: mapping.get() });
                    }>"Add Application Federated Credential"</button>
                    <button on:click=move |_| step2.set(false)>"Back"</button>
                </div>
                {move || add.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            }>
                <label>"Credential type"
                    <select name="credential_type" on:change=move |ev| {
                        if let Some(k) = ProviderKind::parse(&event_target_value(&ev)) {
                            kind.set(k);
                        }
                    }>
                        <option value=ProviderKind::Pca.as_str() selected>"PCA (private CA certificate)"</option>
                        <option value=ProviderKind::Oidc.as_str()>"OIDC (Kubernetes, GitHub Actions, cloud VM token)"</option>
                        <option value=ProviderKind::Pkcs7.as_str()>"PKCS#7 (EC2 / ECS instance identity document)"</option>
                    </select>
                </label>
                <button class="primary" on:click=move |_| {
                    let k = kind.get();
                    mode.set(k.modes().first().copied().unwrap_or(VerificationMode::Expression));
                    provider.set(String::new());
                    step2.set(true);
                }>"Next"</button>
            </Show>
        </section>
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No federated credentials yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list federated">
                            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Verification"</th><th>"Last used"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{l.into_iter().map(|f| {
                                let (id1, id2, enabled) = (f.id.clone(), f.id.clone(), f.enabled);
                                view! {
                                    <tr>
                                        <td>{f.name.clone()}</td>
                                        <td>{kind_label(&f.kind)}</td>
                                        <td><code class="expression">{f.verification_expression.clone()}</code>
                                            {f.attribute_mapping.clone().map(|m| view! { <br/><span class="muted">"mapping: "</span><code>{m}</code> })}</td>
                                        <td>{f.last_used_at.map(fmt_time).unwrap_or_else(|| "never".into())}</td>
                                        {lifecycle_cells("credential", enabled,
                                            move || { toggle.dispatch(SetFederatedCredentialEnabled { client: cid.get_value(), credential: id1.clone(), enabled: !enabled }); },
                                            move || { delete.dispatch(DeleteFederatedCredential { client: cid.get_value(), credential: id2.clone() }); })}
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

/// Paste what a workload would send and see every check, without issuing.
#[component]
pub fn TestCredential(client_id: String) -> impl IntoView {
    let run = ServerAction::<TestFederatedCredential>::new();
    let cid = StoredValue::new(client_id);
    let kind = RwSignal::new(ASSERTION_PCA.to_string());
    let s = || RwSignal::new(String::new());
    let (assertion, name, x509, chain) = (s(), s(), s(), s());
    view! {
        <section class="panel" aria-label="Test credential">
            <h3>"Test credential"</h3>
            <p class="muted">"Paste what the workload sends to the token endpoint. Writ runs every check the token endpoint would (signature, chain, expiry, trust condition, verification, mapping) and shows the result. Nothing is issued and no assertion is used up."</p>
            <label>"Type"
                <select name="test_assertion_type" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value=ASSERTION_PCA selected>"PCA: certificate chain + assertion"</option>
                    <option value=ASSERTION_OIDC>"OIDC: token"</option>
                    <option value=ASSERTION_PKCS7>"PKCS#7: signed document"</option>
                </select>
            </label>
            <label>"Federated credential name" <input type="text" name="test_credential_name" bind:value=name/></label>
            <label>"client_assertion" {text(assertion, "test_assertion", "eyJ… or MIAGCSqGSIb3DQEHAqCA…")}</label>
            <Show when=move || kind.get() == ASSERTION_PCA>
                <label>"client_x509 (PEM)" {text(x509, "test_client_x509", "-----BEGIN CERTIFICATE-----")}</label>
                <label>"client_x509_chain (PEM)" {text(chain, "test_client_x509_chain", "-----BEGIN CERTIFICATE-----")}</label>
            </Show>
            <button class="primary" on:click=move |_| {
                run.dispatch(TestFederatedCredential { client_id: cid.get_value(), assertion_type: kind.get(), assertion: assertion.get(),
                    credential_name: name.get(), client_x509: x509.get(), client_x509_chain: chain.get() });
            }>"Run checks"</button>
            {move || match run.value().get() {
                None => ().into_any(),
                Some(Err(e)) => error_note(&e).into_any(),
                Some(Ok(r)) => view! {
                    <div class="test-result">
                        <p class=if r.passed { "status on" } else { "status off" }>
                            {if r.passed { "Passed: a token would be issued" } else { "Refused: no token would be issued" }}
                        </p>
                        <ul class="checks">
                            {r.checks.into_iter().map(|c| view! {
                                <li class=if c.passed { "check pass" } else { "check fail" }>
                                    <strong>{if c.passed { "✓ " } else { "✗ " }}{c.name}</strong>": "{c.reason}
                                </li>
                            }).collect_view()}
                        </ul>
                        {r.subject.map(|s| view! { <p>"Resulting sub: " <code class="subject">{s}</code></p> })}
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

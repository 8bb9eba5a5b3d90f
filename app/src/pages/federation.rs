//! Sign-In › Authentication Configuration › Federated Credential Provider
//! Management, the Federated Credentials tab of an agent / application, and
//! the Test credential panel.

use crate::api::{
    self, AddFederatedCredential, CreateOidcProvider, CreatePcaProvider, CreatePkcs7Provider,
    DeleteFederatedCredential, DeleteProvider, FederatedEdit, SetFederatedCredentialEnabled,
    SetProviderEnabled, TestFederatedCredential, TestFederatedCredentialUpdate,
    UpdateFederatedCredential, UpdateProvider,
};
use crate::components::lifecycle_cells;
use crate::components::{Layout, StatusBadge, error_note, fmt_time};
use leptos::prelude::*;
use leptos_meta::Title;
use writ_types::{
    FederatedCredentialView, FederatedProviderView, FederatedTestResult, ProviderKind,
    SimpleModeFields, VerificationMode, simple_mode_expression,
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
    view! { <Title text="Federated Credential Provider Management · Writ"/><Layout><ProvidersBody/></Layout> }
}

fn text(s: RwSignal<String>, name: &'static str, placeholder: &'static str) -> impl IntoView {
    view! {
        <textarea name=name class="mono" placeholder=placeholder
            prop:value=move || s.get() on:input=move |ev| s.set(event_target_value(&ev))></textarea>
    }
}

/// Sign-In › Federated Credential Provider Management: the one place
/// providers are created. Long because it is mostly `view!` markup: the
/// list and the two-step create form (type, then that type's fields).
#[component]
fn ProvidersBody() -> impl IntoView {
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
    // Step 1 of "Add Federated Credential Provider": the type; "Next"
    // opens that type's form (`open`).
    let choosing = RwSignal::new(false);
    let choice = RwSignal::new(ProviderKind::Pca);
    view! {
        <p class="breadcrumb muted">"Sign-In › Authentication Configuration"</p>
        <div class="page-head">
            <h1>"Federated Credential Provider Management"</h1>
            <div class="actions">
                <button class="primary" on:click=move |_| { open.set(None); choosing.set(true); }>"Add Federated Credential Provider"</button>
            </div>
        </div>
        <p class="muted">"A provider says which external authority Writ trusts: your private CA (PCA), an OIDC issuer (a Kubernetes cluster, GitHub Actions, a cloud's VM identity), or a cloud's signed instance identity documents (PKCS#7). Create it here once; each agent or application then attaches it on its PCA / OIDC / PKCS#7 tab, naming which of that authority's identities it accepts."</p>
        <Show when=move || choosing.get()>
            <section class="panel" aria-label="Add Federated Credential Provider">
                <h2>"Add Federated Credential Provider"</h2>
                <label>"Provider type"
                    <select name="provider_type" on:change=move |ev| {
                        if let Some(k) = ProviderKind::parse(&event_target_value(&ev)) {
                            choice.set(k);
                        }
                    }>
                        <option value=ProviderKind::Pca.as_str() selected>"PCA (private CA certificate)"</option>
                        <option value=ProviderKind::Oidc.as_str()>"OIDC (Kubernetes, GitHub Actions, cloud VM token)"</option>
                        <option value=ProviderKind::Pkcs7.as_str()>"PKCS#7 (EC2 / ECS instance identity document)"</option>
                    </select>
                </label>
                <div class="actions">
                    <button class="primary" on:click=move |_| { choosing.set(false); open.set(Some(choice.get())); }>"Next"</button>
                    <button on:click=move |_| choosing.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
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
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No providers yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list providers">
                            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Trust"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{l.into_iter().map(|p| {
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

/// The verification part of a federated credential's form (add, attach,
/// edit): the mode, its fields, the generated expression, and the mapping.
#[derive(Clone, Copy)]
pub struct VerificationForm {
    mode: RwSignal<VerificationMode>,
    namespace: RwSignal<String>,
    service_account: RwSignal<String>,
    principal_id: RwSignal<String>,
    cn: RwSignal<String>,
    instance_id: RwSignal<String>,
    expression: RwSignal<String>,
    mapping: RwSignal<String>,
}

impl VerificationForm {
    pub fn new() -> Self {
        let s = || RwSignal::new(String::new());
        Self {
            mode: RwSignal::new(VerificationMode::Certificate),
            namespace: s(),
            service_account: s(),
            principal_id: s(),
            cn: s(),
            instance_id: s(),
            expression: s(),
            mapping: s(),
        }
    }

    /// Empties the fields and picks `kind`'s default mode.
    pub fn reset(&self, kind: ProviderKind) {
        self.mode.set(
            kind.modes()
                .first()
                .copied()
                .unwrap_or(VerificationMode::Expression),
        );
        for f in [
            self.namespace,
            self.service_account,
            self.principal_id,
            self.cn,
            self.instance_id,
            self.expression,
            self.mapping,
        ] {
            f.set(String::new());
        }
    }

    /// Fills the form from a stored credential. Simple modes' inputs are
    /// not stored apart from the expression, so their fields start blank
    /// (the current expression is shown beside them); expression mode gets
    /// its text back.
    fn load(&self, f: &FederatedCredentialView) {
        let kind = ProviderKind::parse(&f.kind).unwrap_or(ProviderKind::Oidc);
        self.reset(kind);
        if let Some(m) = VerificationMode::parse(&f.verification_mode) {
            self.mode.set(m);
        }
        if self.mode.get_untracked() == VerificationMode::Expression {
            self.expression.set(f.verification_expression.clone());
        }
        self.mapping
            .set(f.attribute_mapping.clone().unwrap_or_default());
    }

    fn fields(&self) -> [String; 5] {
        [
            self.namespace.get(),
            self.service_account.get(),
            self.principal_id.get(),
            self.cn.get(),
            self.instance_id.get(),
        ]
    }

    /// What the server functions take (the description is the caller's).
    pub fn edit(&self, description: String) -> FederatedEdit {
        FederatedEdit {
            description,
            mode: self.mode.get().as_str().to_owned(),
            namespace: self.namespace.get(),
            service_account: self.service_account.get(),
            principal_id: self.principal_id.get(),
            cn: self.cn.get(),
            instance_id: self.instance_id.get(),
            expression: self.expression.get(),
            attribute_mapping: self.mapping.get(),
        }
    }
}

impl Default for VerificationForm {
    fn default() -> Self {
        Self::new()
    }
}

/// The subject a Kubernetes service account's token carries in `sub`.
pub fn kubernetes_subject(namespace: &str, service_account: &str) -> String {
    format!(
        "system:serviceaccount:{}:{}",
        namespace.trim(),
        service_account.trim()
    )
}

/// The mode picker and its fields, with the seed's labels. Hints sit
/// outside the labels so each input's name stays short and unambiguous.
fn verification_fields(kind: ProviderKind, f: VerificationForm) -> impl IntoView {
    let mode = f.mode;
    view! {
        // Not a wrapping <label>: its name would then include the chosen
        // option ("Certificate CN"), the same words as the field below.
        <div class="field">
            <span>"Verification"</span>
            <select name="mode" aria-label="Verification mode" on:change=move |ev| {
                if let Some(m) = VerificationMode::parse(&event_target_value(&ev)) {
                    mode.set(m);
                }
            }>
                {kind.modes().iter().map(|&m| view! { <option value=m.as_str() selected=move || mode.get() == m>{m.label()}</option> }).collect_view()}
            </select>
        </div>
        {move || match mode.get() {
            VerificationMode::Kubernetes => view! {
                <label>"Namespace" <input type="text" name="namespace" bind:value=f.namespace/></label>
                <label>"Service Account" <input type="text" name="service_account" bind:value=f.service_account/></label>
                <p class="muted">"Generated subject, compared with the token's " <code>"sub"</code> " claim: "
                    <code class="k8s-subject">{move || kubernetes_subject(&f.namespace.get(), &f.service_account.get())}</code></p>
                <label>"Principal ID (optional)" <input type="text" name="principal_id" bind:value=f.principal_id/></label>
                <p class="muted">"Principal ID pins one exact service account object: it is compared with the token's " <code>"kubernetes.io.serviceaccount.uid"</code> " claim (the account's UID), so a re-created account with the same name is refused."</p>
            }.into_any(),
            VerificationMode::PrincipalId => view! {
                <label>"Principal ID" <input type="text" name="principal_id" bind:value=f.principal_id/></label>
                <p class="muted">"Compared with the token's " <code>"sub"</code> " claim, exactly."</p>
            }.into_any(),
            VerificationMode::Certificate => view! { <label>"Certificate CN" <input type="text" name="cn" bind:value=f.cn/></label> }.into_any(),
            VerificationMode::CloudServer => view! { <label>"Instance ID" <input type="text" name="instance_id" bind:value=f.instance_id/></label> }.into_any(),
            VerificationMode::Expression => view! {
                <label>"Expression (up to 10,240 characters)"
                    <textarea name="expression" class="mono" maxlength="10240" prop:value=move || f.expression.get()
                        on:input=move |ev| f.expression.set(event_target_value(&ev))
                        placeholder="jwt.claims.'kubernetes.io'.namespace == 'payments'"></textarea>
                </label>
                <p class="muted">"Fields: client.clientId, cert.subject.CN, cert.san.dns, jwt.claims.sub, pkcs7.payload.jsonData.'instance-id' … — keys with dots or dashes go in single quotes."</p>
            }.into_any(),
        }}
        <Show when=move || mode.get().is_simple()>
            <p class="muted">"Generated expression: " <code class="expression">{move || preview_expression(mode.get(), &f.fields())}</code></p>
        </Show>
        <label>"Attribute mapping (optional expression producing activeSubjectUrn)"
            <textarea name="attribute_mapping" class="mono" prop:value=move || f.mapping.get()
                on:input=move |ev| f.mapping.set(event_target_value(&ev)) placeholder="'k8s:' + jwt.claims.sub"></textarea>
        </label>
        <p class="warning">"With custom subject identity on the resource server, the token's sub becomes <clientId>:<activeSubjectUrn>. A relying cloud's oidc:sub condition sees that value: update its trust policy too."</p>
    }
}

fn add_credential(
    add: ServerAction<AddFederatedCredential>,
    client: String,
    kind: ProviderKind,
    provider_id: String,
    name: String,
    description: String,
    f: VerificationForm,
) {
    let e = f.edit(description);
    add.dispatch(AddFederatedCredential {
        client,
        kind: kind.as_str().to_owned(),
        provider_id,
        name,
        description: e.description,
        mode: e.mode,
        namespace: e.namespace,
        service_account: e.service_account,
        principal_id: e.principal_id,
        cn: e.cn,
        instance_id: e.instance_id,
        expression: e.expression,
        attribute_mapping: e.attribute_mapping,
    });
}

/// The agent's PCA / OIDC / PKCS#7 tab: attaches an existing provider of
/// that type to this client, as one of its federated credentials (the
/// source, a credential name and the verification). Providers themselves
/// are created only under Sign-In, so one provider serves many clients.
#[component]
pub fn TrustSources(kind: ProviderKind, client: String) -> impl IntoView {
    let add = ServerAction::<AddFederatedCredential>::new();
    let cid = StoredValue::new(client);
    let providers = Resource::new(|| (), |_| api::list_federated_providers());
    let attached = Resource::new(
        move || (cid.get_value(), add.version().get()),
        |(c, _)| api::list_federated_credentials(c),
    );
    let open = RwSignal::new(false);
    let s = || RwSignal::new(String::new());
    let (source, name, description) = (s(), s(), s());
    let form = VerificationForm::new();
    form.reset(kind);
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            open.set(false);
        }
    });
    let heading = match kind {
        ProviderKind::Pca => "PCA Federated Credential Provider",
        ProviderKind::Oidc => "OIDC Federation Trust Source",
        ProviderKind::Pkcs7 => "PKCS#7 Federation Trust Source",
    };
    view! {
        <div class="page-head">
            <h2>{heading}</h2>
            <div class="actions">
                <button class="primary" on:click=move |_| {
                    form.reset(kind);
                    source.set(String::new());
                    name.set(String::new());
                    description.set(String::new());
                    open.set(true);
                }>"Add Federated Credential Provider"</button>
            </div>
        </div>
        <p class="muted">{format!("Attach a {} provider created under Sign-In › Federated Credential Provider Management: this client then accepts the identities of that provider you name below.", kind.label())}</p>
        <Show when=move || open.get()>
            <section class="panel" aria-label="Add Federated Credential Provider">
                <h3>"Add Federated Credential Provider"</h3>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match providers.await {
                            Ok(ps) if ps.iter().all(|p| p.kind != kind.as_str()) => view! {
                                <p class="notice-inline">{format!("No {} provider exists yet: ", kind.label())}
                                    <a href="/federation-providers">"create one under Sign-In › Federated Credential Provider Management"</a>" first."</p>
                            }.into_any(),
                            Ok(ps) => view! {
                                <label>"Source"
                                    <select name="source" on:change=move |ev| source.set(event_target_value(&ev))>
                                        <option value="">"Choose a provider…"</option>
                                        {ps.into_iter().filter(|p| p.kind == kind.as_str()).map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                            }.into_any(),
                            Err(e) => error_note(&e),
                        }
                    })}
                </Suspense>
                <label>"Credential name (a-z, 0-9, _ and -; cannot change later)" <input type="text" name="credential_name" bind:value=name/></label>
                <label>"Description" <input type="text" name="credential_description" bind:value=description maxlength="128"/></label>
                {verification_fields(kind, form)}
                {move || add.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        add_credential(add, cid.get_value(), kind, source.get(), name.get(), description.get(), form);
                    }>"Save"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let names: std::collections::HashMap<String, String> = providers.await.unwrap_or_default()
                    .into_iter().map(|p| (p.id, p.name)).collect();
                match attached.await {
                    Ok(l) if l.iter().all(|f| f.kind != kind.as_str()) => view! {
                        <p class="muted">{format!("No {} provider is attached to this client yet.", kind.label())}</p>
                    }.into_any(),
                    Ok(l) => view! {
                        <table class="list providers attached">
                            <thead><tr><th>"Source"</th><th>"Credential name"</th><th>"Verification"</th><th>"Status"</th></tr></thead>
                            <tbody>{l.into_iter().filter(|f| f.kind == kind.as_str()).map(|f| view! {
                                <tr>
                                    <td>{names.get(&f.provider_id).cloned().unwrap_or_else(|| f.provider_id.clone())}</td>
                                    <td>{f.name.clone()}</td>
                                    <td><code>{f.verification_expression.clone()}</code></td>
                                    <td><StatusBadge enabled=f.enabled/></td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                        <p class="muted">"Edit, disable or delete them on the Federated Credentials tab."</p>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

/// A client's federated credentials: the list (each with Edit), the add
/// form and the edit panel. Long because it is mostly `view!` markup.
#[component]
pub fn FederatedCredentials(client: String) -> impl IntoView {
    let add = ServerAction::<AddFederatedCredential>::new();
    let toggle = ServerAction::<SetFederatedCredentialEnabled>::new();
    let delete = ServerAction::<DeleteFederatedCredential>::new();
    let update = ServerAction::<UpdateFederatedCredential>::new();
    let cid = StoredValue::new(client);
    let list = Resource::new(
        move || {
            (
                cid.get_value(),
                add.version().get(),
                toggle.version().get(),
                delete.version().get(),
                update.version().get(),
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
    let form = VerificationForm::new();
    let editing = RwSignal::new(None::<FederatedCredentialView>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            step2.set(false);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(None);
        }
    });
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
                {move || verification_fields(kind.get(), form)}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        add_credential(add, cid.get_value(), kind.get(), provider.get(), name.get(), description.get(), form);
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
                    form.reset(kind.get());
                    provider.set(String::new());
                    step2.set(true);
                }>"Next"</button>
            </Show>
        </section>
        {move || editing.get().map(|f| view! { <EditFederatedCredential client=cid.get_value() credential=f update=update on_close=move || editing.set(None)/> })}
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
                                let mode_label = VerificationMode::parse(&f.verification_mode).map_or("", VerificationMode::label);
                                let row = f.clone();
                                view! {
                                    <tr>
                                        <td>{f.name.clone()}<br/><button class="small" on:click=move |_| editing.set(Some(row.clone()))>"Edit"</button></td>
                                        <td>{kind_label(&f.kind)}</td>
                                        <td><span class="muted">{mode_label}": "</span><code class="expression">{f.verification_expression.clone()}</code>
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

/// Edit a federated credential: description, verification and mapping (the
/// name is fixed: it is what workloads present). "Test credential" runs the
/// token endpoint's checks on the edited settings without saving them, so
/// the admin sees the effect before the workloads do.
#[component]
fn EditFederatedCredential(
    client: String,
    credential: FederatedCredentialView,
    update: ServerAction<UpdateFederatedCredential>,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let kind = ProviderKind::parse(&credential.kind).unwrap_or(ProviderKind::Oidc);
    let form = VerificationForm::new();
    form.load(&credential);
    let description = RwSignal::new(credential.description.clone());
    let test = ServerAction::<TestFederatedCredentialUpdate>::new();
    let s = || RwSignal::new(String::new());
    let (assertion, x509, chain) = (s(), s(), s());
    let ids = StoredValue::new((client, credential.id.clone()));
    let assertion_type = match kind {
        ProviderKind::Pca => ASSERTION_PCA,
        ProviderKind::Oidc => ASSERTION_OIDC,
        ProviderKind::Pkcs7 => ASSERTION_PKCS7,
    };
    let close = on_close.clone();
    view! {
        <section class="panel" aria-label="Edit Federated Credential">
            <h3>"Edit Federated Credential"</h3>
            <label>"Name (cannot change)" <input type="text" name="edit_credential_name" value=credential.name.clone() readonly/></label>
            <p class="muted">"Current verification: " <code>{credential.verification_expression.clone()}</code></p>
            <label>"Description" <input type="text" name="edit_credential_description" bind:value=description maxlength="128"/></label>
            {verification_fields(kind, form)}
            <h4>"Test credential"</h4>
            <p class="muted">"Paste what the workload sends: Writ runs every check the token endpoint would, against the settings above, before they are saved. Nothing is issued or stored."</p>
            <label>"client_assertion" {text(assertion, "edit_test_assertion", "eyJ… or MIAGCSqGSIb3DQEHAqCA…")}</label>
            {(kind == ProviderKind::Pca).then(|| view! {
                <label>"client_x509 (PEM)" {text(x509, "edit_test_client_x509", "-----BEGIN CERTIFICATE-----")}</label>
                <label>"client_x509_chain (PEM)" {text(chain, "edit_test_client_x509_chain", "-----BEGIN CERTIFICATE-----")}</label>
            })}
            {move || test.value().get().map(|r| match r {
                Ok(r) => test_result(r).into_any(),
                Err(e) => error_note(&e),
            })}
            {move || update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            <div class="actions">
                <button on:click=move |_| {
                    let (client, credential) = ids.get_value();
                    test.dispatch(TestFederatedCredentialUpdate { client, credential, edit: form.edit(description.get()),
                        assertion_type: assertion_type.to_owned(), assertion: assertion.get(), client_x509: x509.get(), client_x509_chain: chain.get() });
                }>"Test credential"</button>
                <button class="primary" on:click=move |_| {
                    let (client, credential) = ids.get_value();
                    update.dispatch(UpdateFederatedCredential { client, credential, edit: form.edit(description.get()) });
                }>"Save changes"</button>
                <button on:click=move |_| close()>"Cancel"</button>
            </div>
        </section>
    }
}

/// A dry run's outcome: passed or refused, each check, the resulting `sub`.
fn test_result(r: FederatedTestResult) -> impl IntoView {
    view! {
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
                Some(Ok(r)) => test_result(r).into_any(),
            }}
        </section>
    }
}

//! Sign-In › Authentication Configuration › Federated Credential Provider
//! Management, and the Federated Credentials tab of an agent / application.

use crate::api::{
    self, AddFederatedCredential, CreateOidcProvider, DeleteFederatedCredential, DeleteProvider,
    SetFederatedCredentialEnabled, SetProviderEnabled,
};
use crate::components::lifecycle_cells;
use crate::components::{Layout, error_note, fmt_time};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ProvidersPage() -> impl IntoView {
    view! { <Title text="Federated Credential Providers · Writ"/><Layout><ProvidersBody/></Layout> }
}

#[component]
fn ProvidersBody() -> impl IntoView {
    let create = ServerAction::<CreateOidcProvider>::new();
    let toggle = ServerAction::<SetProviderEnabled>::new();
    let delete = ServerAction::<DeleteProvider>::new();
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |_| api::list_federated_providers(),
    );
    let open = RwSignal::new(false);
    let (name, description, issuer, audience, jwks) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            open.set(false);
        }
    });
    view! {
        <div class="page-head">
            <h1>"Federated Credential Providers"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Add OIDC Provider"</button>
        </div>
        <p class="muted">"Sign-In › Authentication Configuration. A provider says which external issuer Writ trusts (a Kubernetes cluster, GitHub Actions, a cloud's VM identity); each agent or application then names, in a federated credential, which of that issuer's identities it accepts."</p>
        <Show when=move || open.get()>
            <section class="panel" aria-label="Add OIDC Provider">
                <h2>"Add OIDC Provider"</h2>
                <label>"Name (a-z, 0-9, _ and -; cannot change later)" <input type="text" name="provider_name" bind:value=name/></label>
                <label>"Description" <input type="text" name="provider_description" bind:value=description maxlength="128"/></label>
                <label>"Issuer" <input type="text" name="issuer" bind:value=issuer placeholder="https://oidc.example.com"/></label>
                <label>"ResourceServer identifier (expected aud)" <input type="text" name="audience" bind:value=audience/></label>
                <label>"Verification keys (JWKS)"
                    <textarea name="jwks" class="mono" prop:value=move || jwks.get() on:input=move |ev| jwks.set(event_target_value(&ev)) placeholder="{\"keys\": [...]}"></textarea>
                </label>
                {move || create.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| { create.dispatch(CreateOidcProvider { name: name.get(), description: description.get(), issuer: issuer.get(), audience: audience.get(), jwks: jwks.get() }); }>"Save"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No providers yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list providers">
                            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Issuer / audience"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{l.into_iter().map(|p| {
                                let (id1, id2, enabled) = (p.id.clone(), p.id.clone(), p.enabled);
                                view! {
                                    <tr>
                                        <td>{p.name.clone()}<br/><span class="muted">{p.description.clone()}</span></td>
                                        <td>{p.kind.to_uppercase()}</td>
                                        <td><code>{p.issuer.clone().unwrap_or_default()}</code><br/><code>{p.audience.clone().unwrap_or_default()}</code></td>
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

/// The expression a simple mode stands for, as the server will store it.
pub fn preview_expression(
    mode: &str,
    namespace: &str,
    service_account: &str,
    principal_id: &str,
) -> String {
    match mode {
        "kubernetes" => format!(
            "jwt.claims.sub == 'system:serviceaccount:{}:{}'",
            namespace.trim(),
            service_account.trim()
        ),
        _ => format!("jwt.claims.sub == '{}'", principal_id.trim()),
    }
}

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
    let (provider, name, description) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let (mode, namespace, service_account, principal_id) = (
        RwSignal::new("kubernetes".to_string()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    view! {
        <p class="muted">"Credential type: OIDC. The provider's trust comes first, then this credential's verification; both must pass."</p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match providers.await {
                    Ok(ps) if ps.iter().all(|p| p.kind != "oidc") => view! {
                        <p class="notice-inline">"No OIDC federated credential provider exists yet: " <a href="/federation-providers">"create one"</a> " first."</p>
                    }.into_any(),
                    Ok(ps) => view! {
                        <label>"Provider"
                            <select name="provider" on:change=move |ev| provider.set(event_target_value(&ev))>
                                <option value="">"Choose…"</option>
                                {ps.into_iter().filter(|p| p.kind == "oidc").map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
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
            <select name="mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                <option value="kubernetes" selected>"Kubernetes"</option>
                <option value="principal_id">"Principal ID"</option>
            </select>
        </label>
        <Show when=move || mode.get() == "kubernetes" fallback=move || view! {
            <label>"Principal ID" <input type="text" name="principal_id" bind:value=principal_id/></label>
        }>
            <label>"Namespace" <input type="text" name="namespace" bind:value=namespace/></label>
            <label>"Service Account" <input type="text" name="service_account" bind:value=service_account/></label>
        </Show>
        <p class="muted">"Generated expression: " <code class="expression">{move || preview_expression(&mode.get(), &namespace.get(), &service_account.get(), &principal_id.get())}</code></p>
        <button class="primary" on:click=move |_| {
            add.dispatch(AddFederatedCredential { client: cid.get_value(), provider_id: provider.get(), name: name.get(), description: description.get(),
                mode: mode.get(), namespace: namespace.get(), service_account: service_account.get(), principal_id: principal_id.get() });
        }>"Add Application Federated Credential"</button>
        {move || add.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No federated credentials yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list federated">
                            <thead><tr><th>"Name"</th><th>"Verification"</th><th>"Last used"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{l.into_iter().map(|f| {
                                let (id1, id2, enabled) = (f.id.clone(), f.id.clone(), f.enabled);
                                view! {
                                    <tr>
                                        <td>{f.name.clone()}</td>
                                        <td><code>{f.verification_expression.clone()}</code></td>
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

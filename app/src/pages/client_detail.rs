//! An agent's or M2M application's page: the flowchart, General (with
//! Authentication Management), SDK configuration and recent token requests.

use super::agents::validate_client_form;
use crate::api::{
    self, AddPublicKey, AddSecret, DeleteClient, DeletePublicKey, DeleteSecret,
    RevokeCredentialGrant, RevokeGrant, RevokeProviderGrant, SetClientEnabled, SetPublicKeyEnabled,
    SetSecretEnabled, UpdateClient,
};
use crate::components::lifecycle_cells;
use crate::components::{CopyField, Layout, StatusBadge, error_note, fmt_time, urlencode};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use writ_types::{BusinessType, ClientKind, ClientView, ProviderKind, PublicKeyView, SecretView};

#[component]
pub fn AgentDetailPage() -> impl IntoView {
    view! { <Title text="Agent · Writ"/><Layout><ClientDetail/></Layout> }
}

#[component]
pub fn M2mDetailPage() -> impl IntoView {
    view! { <Title text="M2M application · Writ"/><Layout><ClientDetail/></Layout> }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    General,
    Sdk,
    Audit,
}

/// Edit, status and delete for the client this page shows.
#[derive(Clone, Copy)]
struct Lifecycle {
    update: ServerAction<UpdateClient>,
    toggle: ServerAction<SetClientEnabled>,
    delete: ServerAction<DeleteClient>,
    editing: RwSignal<bool>,
}

#[component]
fn ClientDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let life = Lifecycle {
        update: ServerAction::new(),
        toggle: ServerAction::new(),
        delete: ServerAction::new(),
        // The lists' Edit link opens the page with the edit panel open.
        editing: RwSignal::new(query.read_untracked().get("edit").is_some()),
    };
    let client = Resource::new(
        move || {
            (
                id(),
                life.update.version().get(),
                life.toggle.version().get(),
            )
        },
        |(id, ..)| api::get_client(id),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = life.delete.value().get() {
            let back = if location_path().starts_with("/m2m") {
                "/m2m"
            } else {
                "/agents"
            };
            navigate(back, Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = life.update.value().get() {
            life.editing.set(false);
        }
    });
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match client.await {
                    Ok(c) => view! { <ClientView client=c life=life/> }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

fn location_path() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().pathname().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Status, the status switch, Delete (greyed while enabled) and Edit.
#[component]
fn LifecycleBar(client: ClientView, life: Lifecycle) -> impl IntoView {
    let kind = if client.kind == ClientKind::Agent {
        "agent"
    } else {
        "m2m"
    };
    let noun = if client.kind == ClientKind::Agent {
        "agent"
    } else {
        "application"
    };
    let enabled = client.enabled;
    let (id1, id2) = (client.id.clone(), client.id.clone());
    view! {
        <section class="card lifecycle" aria-label="Status">
            <table class="list"><tbody><tr>
                {lifecycle_cells(noun, enabled,
                    move || { life.toggle.dispatch(SetClientEnabled { id: id1.clone(), kind: kind.into(), enabled: !enabled }); },
                    move || { life.delete.dispatch(DeleteClient { id: id2.clone(), kind: kind.into() }); })}
                <td><button class="small" on:click=move |_| life.editing.set(true)>"Edit"</button></td>
            </tr></tbody></table>
            {(!enabled).then(|| view! { <p class="hint">{format!("This {noun} is disabled: every token request it makes is refused.")}</p> })}
            {move || life.toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            {move || life.delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        </section>
        <Show when=move || life.editing.get()>
            <EditClientPanel client=client.clone() life=life/>
        </Show>
    }
}

#[component]
fn EditClientPanel(client: ClientView, life: Lifecycle) -> impl IntoView {
    let is_agent = client.kind == ClientKind::Agent;
    let kind = if is_agent { "agent" } else { "m2m" };
    let name = RwSignal::new(client.name.clone());
    let owner = RwSignal::new(client.owner.clone().unwrap_or_default());
    let description = RwSignal::new(client.description.clone());
    let problem = RwSignal::new(None::<String>);
    let id = client.id.clone();
    view! {
        <section class="panel" aria-label="Edit">
            <h2>"Edit"</h2>
            <label>{if is_agent { "Agent Name" } else { "Application Name" }} <input type="text" name="edit_name" bind:value=name maxlength="64"/></label>
            {is_agent.then(|| view! { <label>"Owner" <input type="text" name="edit_owner" bind:value=owner maxlength="64"/></label> })}
            <label>"Description"
                <textarea name="edit_description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
            </label>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {move || life.update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            <div class="actions">
                <button class="primary" on:click=move |_| {
                    let o = owner.get();
                    match validate_client_form(&name.get(), is_agent.then_some(o.as_str()), &description.get()) {
                        Some(p) => problem.set(Some(p)),
                        None => {
                            problem.set(None);
                            life.update.dispatch(UpdateClient {
                                id: id.clone(),
                                kind: kind.into(),
                                name: name.get(),
                                owner: is_agent.then_some(o),
                                description: description.get(),
                            });
                        }
                    }
                }>"Save"</button>
                <button on:click=move |_| life.editing.set(false)>"Cancel"</button>
            </div>
        </section>
    }
}

/// The Authentication Management sub-tab a `?tab=` value names: the
/// Register Agent Identity panel sends the agent's authentication type
/// there, so the admin lands where that method is set up.
pub fn auth_sub_tab(tab: &str) -> Option<u8> {
    Some(match tab {
        "client_secret" => 0,
        "private_key_jwt" | "public_key" => 1,
        "federated" => 2,
        "test" => 3,
        "pca" => 4,
        "oidc" => 5,
        "pkcs7" => 6,
        _ => return None,
    })
}

#[component]
fn ClientView(client: ClientView, life: Lifecycle) -> impl IntoView {
    let query = use_query_map();
    let sub = query
        .read_untracked()
        .get("tab")
        .and_then(|t| auth_sub_tab(&t));
    let tab = RwSignal::new(Tab::Overview);
    // `?tab=` opens General once the page is live: the server renders the
    // Overview either way, so the hydrated markup matches what it sent.
    Effect::new(move |_| {
        if sub.is_some() {
            tab.set(Tab::General);
        }
    });
    let is_agent = client.kind == ClientKind::Agent;
    let c = StoredValue::new(client.clone());
    let pk = client.id.clone();
    let vault = Resource::new(move || pk.clone(), api::client_credentials);
    let tab_button = move |t: Tab, label: &'static str| {
        view! {
            <button role="tab" class:active=move || tab.get() == t aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| tab.set(t)>{label}</button>
        }
    };
    view! {
        <div class="page-head">
            <h1>{client.name.clone()}</h1>
            <span class="badge">{if is_agent { "Agent" } else { "M2M application" }}</span>
            <StatusBadge enabled=client.enabled/>
        </div>
        // Shown above the tabs: the page may open on any of them (`?tab=`).
        <p class="muted">"Client ID: " <code class="client-id">{client.client_id.clone()}</code></p>
        <LifecycleBar client=client.clone() life=life/>
        <div class="flowchart" aria-label="Token flow">
            <button class="node agent" on:click=move |_| tab.set(Tab::General) title="Open General settings">
                <strong>{if is_agent { "Agent" } else { "Application" }}</strong>
                <span>{client.name.clone()}</span>
            </button>
            <span class="arrow">"→"</span>
            <div class="node writ"><strong>"Writ"</strong><span>"token endpoint"</span></div>
            <span class="arrow">"→"</span>
            <div class="node resource"><strong>"Gateway / resource"</strong><span>"verifies with JWKS"</span></div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let creds = vault.await.unwrap_or_default();
                    creds.into_iter().map(|cr| {
                        let llm = BusinessType::parse(&cr.business_type) == Some(BusinessType::Llm);
                        let (class, label) = if llm { ("node llm", "LLM") } else { ("node saas", BusinessType::ExternalService.label()) };
                        view! {
                            <span class="arrow">"·"</span>
                            <a class=class href=format!("/credentials/{}", cr.id) title="A credential this client may obtain at run time">
                                <strong>{label}</strong><span>{cr.name}</span>
                            </a>
                        }
                    }).collect_view()
                })}
            </Suspense>
        </div>
        <div class="tabs" role="tablist">
            {tab_button(Tab::Overview, "Overview")}
            {tab_button(Tab::General, "General")}
            {tab_button(Tab::Sdk, "SDK Configuration")}
            {tab_button(Tab::Audit, "Token Requests")}
        </div>
        {move || match tab.get() {
            Tab::Overview => view! { <Overview client=c.get_value()/> }.into_any(),
            Tab::General => view! { <General client=c.get_value() sub=sub.unwrap_or(0)/> }.into_any(),
            Tab::Sdk => view! { <SdkConfig client=c.get_value()/> }.into_any(),
            Tab::Audit => view! { <Audit client=c.get_value()/> }.into_any(),
        }}
    }
}

#[component]
fn Overview(client: ClientView) -> impl IntoView {
    view! {
        <section class="card">
            <dl>
                {client.agent_id.clone().map(|a| view! { <dt>"Agent ID"</dt><dd><code>{a}</code></dd> })}
                <dt>"Client ID"</dt><dd><code>{client.client_id.clone()}</code></dd>
                {client.owner.clone().map(|o| view! { <dt>"Owner"</dt><dd>{o}</dd> })}
                <dt>"Description"</dt><dd>{if client.description.is_empty() { "—".to_string() } else { client.description.clone() }}</dd>
                <dt>"Created"</dt><dd>{fmt_time(client.created_at)}</dd>
            </dl>
            <p class="muted">"Click the agent in the flowchart to manage its credentials."</p>
        </section>
    }
}

#[component]
fn General(client: ClientView, sub: u8) -> impl IntoView {
    let issuer = Resource::new(|| (), |_| api::get_issuer_info());
    let heading = if client.kind == ClientKind::Agent {
        "Authentication Management"
    } else {
        "Credential Management"
    };
    view! {
        <section class="card">
            <h2>"Issuer"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match issuer.await {
                        Ok(i) => view! {
                            <CopyField label="Issuer" value=i.issuer/>
                            <CopyField label="OIDC discovery URL" value=i.discovery_url/>
                            <CopyField label="JWKS URL" value=i.jwks_url/>
                            <CopyField label="Token endpoint" value=i.token_endpoint/>
                        }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>{heading}</h2>
            <AuthManagement client=client.id.clone() client_id=client.client_id.clone() initial=sub/>
        </section>
        <Reach client=client.id.clone()/>
    }
}

/// What the client may reach: resource servers with their permissions,
/// vault credentials and credential providers, each with Revoke.
#[component]
fn Reach(client: String) -> impl IntoView {
    let revoke_rs = ServerAction::<RevokeGrant>::new();
    let revoke_cred = ServerAction::<RevokeCredentialGrant>::new();
    let revoke_prov = ServerAction::<RevokeProviderGrant>::new();
    let cid = StoredValue::new(client);
    let key = move || {
        (
            cid.get_value(),
            revoke_rs.version().get(),
            revoke_cred.version().get(),
            revoke_prov.version().get(),
        )
    };
    let grants = Resource::new(key, |(c, ..)| api::client_grants(c));
    let assets = Resource::new(key, |(c, ..)| api::client_asset_grants(c));
    view! {
        <section class="card" aria-label="May reach">
            <h2>"Permissions"</h2>
            <p class="muted">"What this client may reach. Revoke takes effect on its next request."</p>
            {move || revoke_rs.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            {move || revoke_cred.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            {move || revoke_prov.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let (rs, assets) = (grants.await, assets.await);
                    let (rs, assets) = match (rs, assets) {
                        (Ok(r), Ok(a)) => (r, a),
                        (Err(e), _) | (_, Err(e)) => return error_note(&e),
                    };
                    if rs.is_empty() && assets.is_empty() {
                        return view! { <p class="muted">"No permissions granted."</p> }.into_any();
                    }
                    view! {
                        <table class="list reach">
                            <thead><tr><th>"Kind"</th><th>"Target"</th><th>"Permissions"</th><th>"Actions"</th></tr></thead>
                            <tbody>
                                {rs.into_iter().map(|g| {
                                    let (rsid, gid) = (g.resource_server_id.clone(), g.id.clone());
                                    view! {
                                        <tr data-kind="resource_server">
                                            <td>"Resource server"</td>
                                            <td><a href=format!("/resource-servers/{}", g.resource_server_id)><code>{g.audience.clone()}</code></a></td>
                                            <td>{g.permissions.join(", ")}</td>
                                            <td><button class="small danger" on:click=move |_| { revoke_rs.dispatch(RevokeGrant { resource_server: rsid.clone(), grant: gid.clone() }); }>"Revoke"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                                {assets.into_iter().map(|a| {
                                    let vault = a.kind == "credential";
                                    let (target, gid) = (a.target_id.clone(), a.grant_id.clone());
                                    let href = if vault { format!("/credentials/{}", a.target_id) } else { format!("/credential-providers/{}", a.target_id) };
                                    view! {
                                        <tr data-kind=a.kind.clone()>
                                            <td>{if vault { "Vault credential" } else { "Credential provider" }}</td>
                                            <td><a href=href>{a.target_name.clone()}</a></td>
                                            <td>"—"</td>
                                            <td><button class="small danger" on:click=move |_| {
                                                if vault {
                                                    revoke_cred.dispatch(RevokeCredentialGrant { credential: target.clone(), grant: gid.clone() });
                                                } else {
                                                    revoke_prov.dispatch(RevokeProviderGrant { provider: target.clone(), grant: gid.clone() });
                                                }
                                            }>"Revoke"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuthManagement(client: String, client_id: String, initial: u8) -> impl IntoView {
    // 0: client secrets, 1: public keys, 2: federated credentials, 3: test,
    // 4-6: attach a PCA / OIDC / PKCS#7 provider.
    let tab = RwSignal::new(initial);
    let client = StoredValue::new(client);
    let client_id = StoredValue::new(client_id);
    let sub_tab = move |i: u8, label: &'static str| {
        view! {
            <button role="tab" class:active=move || tab.get() == i aria-selected=move || (tab.get() == i).to_string()
                on:click=move |_| tab.set(i)>{label}</button>
        }
    };
    view! {
        <div class="tabs sub" role="tablist">
            {sub_tab(0, "Client Secret Credential")}
            {sub_tab(1, "Certificates Credential")}
            {sub_tab(2, "Federated Credentials")}
            {sub_tab(3, "Test credential")}
            {sub_tab(4, "PCA Federated Credential Provider")}
            {sub_tab(5, "OIDC Federation Trust Source")}
            {sub_tab(6, "PKCS#7 Federation Trust Source")}
        </div>
        {move || match tab.get() {
            0 => view! { <ClientSecrets client=client.get_value()/> }.into_any(),
            1 => view! { <PublicKeys client=client.get_value()/> }.into_any(),
            2 => view! { <crate::pages::federation::FederatedCredentials client=client.get_value()/> }.into_any(),
            3 => view! { <crate::pages::federation::TestCredential client_id=client_id.get_value()/> }.into_any(),
            4 => view! { <crate::pages::federation::TrustSources kind={ProviderKind::Pca} client=client.get_value()/> }.into_any(),
            5 => view! { <crate::pages::federation::TrustSources kind={ProviderKind::Oidc} client=client.get_value()/> }.into_any(),
            _ => view! { <crate::pages::federation::TrustSources kind={ProviderKind::Pkcs7} client=client.get_value()/> }.into_any(),
        }}
    }
}

#[component]
fn PublicKeys(client: String) -> impl IntoView {
    let add = ServerAction::<AddPublicKey>::new();
    let toggle = ServerAction::<SetPublicKeyEnabled>::new();
    let delete = ServerAction::<DeletePublicKey>::new();
    let cid = StoredValue::new(client);
    let key_text = RwSignal::new(String::new());
    let keys = Resource::new(
        move || {
            (
                cid.get_value(),
                add.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |(c, ..)| api::list_public_keys(c),
    );
    view! {
        <p class="muted">"Manually add a public key (PEM SubjectPublicKeyInfo, PEM certificate, or JWK; RSA 2048+ or EC P-256/384/521). The workload signs a client assertion (private_key_jwt) with its private key; Writ never sees it."</p>
        <label>"Public key"
            <textarea name="public_key" class="mono" prop:value=move || key_text.get() on:input=move |ev| key_text.set(event_target_value(&ev))
                placeholder="-----BEGIN PUBLIC KEY-----"></textarea>
        </label>
        <label>"Or upload a PEM / CRT file"
            <input type="file" name="public_key_file" accept=".pem,.crt,.cer,.pub,.json" on:change=move |ev| read_file_into(ev, key_text)/>
        </label>
        <button class="primary" on:click=move |_| { add.dispatch(AddPublicKey { client: cid.get_value(), key: key_text.get() }); }>"Manually Add"</button>
        {move || add.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No public keys yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="list public-keys">
                            <thead><tr><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{list.into_iter().map(|k| key_row(k, cid, toggle, delete)).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

fn key_row(
    k: PublicKeyView,
    cid: StoredValue<String>,
    toggle: ServerAction<SetPublicKeyEnabled>,
    delete: ServerAction<DeletePublicKey>,
) -> impl IntoView {
    let (id1, id2) = (k.id.clone(), k.id.clone());
    let enabled = k.enabled;
    view! {
        <tr>
            <td>{k.key_type.clone()}<br/><code title="RFC 7638 thumbprint">{k.kid.clone()}</code></td>
            <td>{fmt_time(k.created_at)}</td>
            <td>{k.last_used_at.map(fmt_time).unwrap_or_else(|| "never".into())}</td>
            {lifecycle_cells("key", enabled,
                move || { toggle.dispatch(SetPublicKeyEnabled { client: cid.get_value(), key: id1.clone(), enabled: !enabled }); },
                move || { delete.dispatch(DeletePublicKey { client: cid.get_value(), key: id2.clone() }); })}
        </tr>
    }
}

#[component]
fn ClientSecrets(client: String) -> impl IntoView {
    let add = ServerAction::<AddSecret>::new();
    let allow_jwt = RwSignal::new(false);
    let toggle = ServerAction::<SetSecretEnabled>::new();
    let delete = ServerAction::<DeleteSecret>::new();
    let cid = StoredValue::new(client.clone());
    let secrets = Resource::new(
        move || {
            (
                cid.get_value(),
                add.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |(c, ..)| api::list_secrets(c),
    );
    view! {
        <label class="check"><input type="checkbox" name="allow_client_secret_jwt" prop:checked=move || allow_jwt.get()
            on:change=move |ev| allow_jwt.set(event_target_checked(&ev))/>
            " Also allow client_secret_jwt (Writ then keeps an encrypted copy of this secret, not only its hash)"</label>
        <button class="primary" on:click=move |_| { add.dispatch(AddSecret { client: cid.get_value(), allow_client_secret_jwt: allow_jwt.get() }); }>"Add client_secret"</button>
        {move || add.value().get().map(|r| match r {
            Ok(s) => view! {
                <div class="secret-once" role="status">
                    <p class="warning">"Copy this client secret now. It is shown only once and cannot be retrieved later."</p>
                    <CopyField label="client_secret" value=s.client_secret/>
                </div>
            }.into_any(),
            Err(e) => error_note(&e),
        })}
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match secrets.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No client secrets yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="list secrets">
                            <thead><tr><th>"Secret"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                            <tbody>{list.into_iter().map(|s| secret_row(s, cid, toggle, delete)).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

fn secret_row(
    s: SecretView,
    cid: StoredValue<String>,
    toggle: ServerAction<SetSecretEnabled>,
    delete: ServerAction<DeleteSecret>,
) -> impl IntoView {
    let (sid, sid2) = (s.id.clone(), s.id.clone());
    let enabled = s.enabled;
    view! {
        <tr>
            <td><code>{format!("writcs_{}…", s.hint)}</code></td>
            <td>{fmt_time(s.created_at)}</td>
            <td>{s.last_used_at.map(fmt_time).unwrap_or_else(|| "never".into())}</td>
            {lifecycle_cells("secret", enabled,
                move || { toggle.dispatch(SetSecretEnabled { client: cid.get_value(), secret: sid.clone(), enabled: !enabled }); },
                move || { delete.dispatch(DeleteSecret { client: cid.get_value(), secret: sid2.clone() }); })}
        </tr>
    }
}

/// Generate SDK configuration: method, credential and scope choices, then the
/// `client-config.json`. Long because it is mostly `view!` markup.
#[component]
fn SdkConfig(client: ClientView) -> impl IntoView {
    let method = RwSignal::new("CLIENT_SECRET_POST".to_string());
    let scope = RwSignal::new("urn:cloud:idaas:pam|.all".to_string());
    let federated = RwSignal::new(String::new());
    // OIDC: the token file at the Kubernetes default path, or named by
    // ACK RRSA's ALIBABA_CLOUD_OIDC_TOKEN_FILE.
    let token_env = RwSignal::new(String::new());
    // PCA: the workload's certificate goes into the file, so the download
    // works with no hand edit.
    let certificate = RwSignal::new(String::new());
    let id = StoredValue::new(client.id.clone());
    let is_federated = move || matches!(method.get().as_str(), "OIDC" | "PCA" | "PKCS7");
    let config = Resource::new(
        move || {
            (
                id.get_value(),
                method.get(),
                scope.get(),
                federated.get(),
                (token_env.get(), certificate.get()),
            )
        },
        |(c, m, s, f, (e, x))| api::sdk_config(c, m, s, f, e, x),
    );
    // The scopes this client may ask for, offered beside free text.
    let granted = Resource::new(move || id.get_value(), api::client_grants);
    let href = move || {
        let cert = if method.get() == "PCA" {
            certificate.get()
        } else {
            String::new()
        };
        format!(
            "/console/clients/{}/client-config.json?authn_method={}&scope={}&federated_credential_name={}&oidc_token_file_env_var={}&client_x509_certificate={}",
            id.get_value(),
            method.get(),
            urlencode(&scope.get()),
            urlencode(&federated.get()),
            urlencode(&token_env.get()),
            urlencode(&cert)
        )
    };
    view! {
        <section class="card">
            <h2>"Generate SDK Configuration"</h2>
            <label>"Authentication method"
                <select name="authn_method" on:change=move |ev| method.set(event_target_value(&ev))>
                    <option value="CLIENT_SECRET_POST" selected>"CLIENT_SECRET_POST"</option>
                    <option value="CLIENT_SECRET_BASIC">"CLIENT_SECRET_BASIC"</option>
                    <option value="CLIENT_SECRET_JWT">"CLIENT_SECRET_JWT"</option>
                    <option value="PRIVATE_KEY_JWT">"PRIVATE_KEY_JWT"</option>
                    <option value="PCA">"PCA"</option>
                    <option value="OIDC">"OIDC"</option>
                    <option value="PKCS7">"PKCS7"</option>
                </select>
            </label>
            <Show when=is_federated>
                <label>"Federated credential name" <input type="text" name="federated_credential_name" bind:value=federated/></label>
            </Show>
            <Show when=move || method.get() == "OIDC">
                <label>"Token file"
                    <select name="oidc_token_source" on:change=move |ev| token_env.set(event_target_value(&ev))>
                        <option value="" selected>"Kubernetes service-account token (default path)"</option>
                        <option value="ALIBABA_CLOUD_OIDC_TOKEN_FILE">"Alibaba Cloud ACK RRSA (ALIBABA_CLOUD_OIDC_TOKEN_FILE)"</option>
                    </select>
                </label>
            </Show>
            <Show when=move || method.get() == "PCA">
                <label>"Client certificate (PEM)"
                    <textarea name="client_x509_certificate" rows="6" placeholder="-----BEGIN CERTIFICATE-----"
                        prop:value=move || certificate.get() on:input=move |ev| certificate.set(event_target_value(&ev))></textarea>
                    <span class="hint">"The workload's certificate, issued under the provider's intermediates; it is written into clientX509Certificate."</span>
                </label>
            </Show>
            <label>"Scope" <input type="text" name="scope" list="granted-scopes" bind:value=scope/></label>
            <datalist id="granted-scopes">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        granted_scopes(granted.await.unwrap_or_default())
                            .into_iter()
                            .map(|s| {
                                let label = s.clone();
                                view! { <option value=s>{label}</option> }
                            })
                            .collect_view()
                    })}
                </Transition>
            </datalist>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match config.await {
                        Ok(c) => view! {
                            <pre class="config" aria-label="client-config.json">{c.json}</pre>
                            <ol class="howto">
                                <li>"Download the file and save it as " <code>"~/.cloud_idaas/client-config.json"</code> " (or point " <code>"CLOUD_IDAAS_CONFIG_PATH"</code> " at it)."</li>
                                {match method.get_untracked().as_str() {
                                    "PRIVATE_KEY_JWT" => view! { <li>"Export the private key (PEM) whose public key is registered under Certificates Credential: " <code>{format!("export {}=\"$(cat private-key.pem)\"", c.secret_env_var)}</code></li> }.into_any(),
                                    "PCA" => view! { <li>"With the workload's certificate pasted above, the file is complete (the chain is the provider's intermediates). Export the certificate's private key: " <code>{format!("export {}=\"$(cat client-key.pem)\"", c.secret_env_var)}</code></li> }.into_any(),
                                    "OIDC" => view! { <li>"The SDK reads the service-account token file: oidcTokenFilePath, else the file named by oidcTokenFilePathEnvVarName (ACK RRSA sets ALIBABA_CLOUD_OIDC_TOKEN_FILE in the pod), else the default projected token path."</li> }.into_any(),
                                    "PKCS7" => view! { <li>"The SDK fetches the instance identity document from the ECS metadata service with this instance's ID as audience; nothing to export."</li> }.into_any(),
                                    _ => {
                                    view! { <li>"Export the client secret: " <code>{format!("export {}=<your client_secret>", c.secret_env_var)}</code></li> }.into_any()
                                    }
                                }}
                                <li>"Trust Writ's CA: " <code>"export SSL_CERT_FILE=<data dir>/ca.pem"</code> " when Writ uses its own certificate."</li>
                            </ol>
                        }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Transition>
            <a class="button primary" href=href download="client-config.json" rel="external">"Download"</a>
        </section>
    }
}

/// Reads the chosen file's text into `target`, for the admin to check before
/// adding (the server validates it as if pasted). A file over 64 KiB is not
/// a public key and is not read.
fn read_file_into(ev: leptos::ev::Event, target: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        if file.size() > 64.0 * 1024.0 {
            target.set("(this file is over 64 KiB: not a public key)".into());
            return;
        }
        let text = file.text();
        leptos::task::spawn_local(async move {
            if let Ok(v) = wasm_bindgen_futures::JsFuture::from(text).await
                && let Some(s) = v.as_string()
            {
                target.set(s);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, target);
}

/// `audience|.all` or `audience|permission` for each grant the client holds.
fn granted_scopes(grants: Vec<writ_types::GrantView>) -> Vec<String> {
    grants
        .into_iter()
        .flat_map(|g| {
            let aud = g.audience;
            g.permissions.into_iter().map(move |p| format!("{aud}|{p}"))
        })
        .collect()
}

#[component]
fn Audit(client: ClientView) -> impl IntoView {
    let events = Resource::new(
        {
            let id = client.id.clone();
            move || id.clone()
        },
        api::recent_audit,
    );
    view! {
        <section class="card">
            <h2>"Recent token requests"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No token requests yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list audit">
                                <thead><tr><th>"Time"</th><th>"Outcome"</th><th>"Reason"</th><th>"Method"</th><th>"Scope"</th><th>"Source"</th><th>"Requests"</th></tr></thead>
                                <tbody>{list.into_iter().map(|e| {
                                    // A folded row: N refusals from one source, first to last.
                                    let times = match e.last_at {
                                        Some(last) if e.count > 1 => format!("{} (until {})", e.count, fmt_time(last)),
                                        _ => e.count.to_string(),
                                    };
                                    view! {
                                        <tr><td>{fmt_time(e.at)}</td><td>{e.outcome}</td><td>{e.reason}</td><td>{e.method}</td><td><code>{e.scope}</code></td><td>{e.source}</td><td class="count">{times}</td></tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Suspense>
        </section>
    }
}

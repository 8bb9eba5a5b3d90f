//! Asset Management › Credential Provider: OAuth providers (Writ fetches a
//! third party's token for a workload, user-delegated or machine) and JWT
//! providers (Writ mints JWTs with a set expiry and an issuer allow-list).

use crate::api::{
    self, CreateCredentialProvider, DeleteCredentialProvider, GrantCredentialProvider,
    SetCredentialProviderEnabled, UpdateCredentialProvider,
};
use crate::components::{CopyField, Layout, error_note, fmt_time, grants_card, lifecycle_cells};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use writ_types::CredentialProviderView;

fn flow_label(f: &str) -> &'static str {
    match f {
        "user_federation" => "User-delegated (authorization code + PKCE)",
        "m2m" => "Machine (client credentials)",
        _ => "",
    }
}

fn expiry_label(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s => (s / 60, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[component]
pub fn CredentialProvidersPage() -> impl IntoView {
    view! { <Title text="Credential Providers · Writ"/><Layout><ProvidersBody/></Layout> }
}

/// Tabs shared by the Credential and Credential Provider pages.
#[component]
pub fn AssetTabs(active: &'static str) -> impl IntoView {
    let class = move |t: &str| if t == active { "tab active" } else { "tab" };
    view! {
        <nav class="tabs" aria-label="Asset Management">
            <a class=class("credential") href="/credentials">"Credential"</a>
            <a class=class("provider") href="/credential-providers">"Credential Provider"</a>
        </nav>
    }
}

/// Expiration as a number and a unit (minutes, hours or days).
fn expiry_inputs(amount: RwSignal<String>, unit: RwSignal<String>) -> impl IntoView {
    view! {
        <label>"Expiration"
            <span class="inline">
                <input type="number" name="expiration" min="1" bind:value=amount/>
                <select name="expiration_unit" on:change=move |ev| unit.set(event_target_value(&ev))>
                    <option value="60" selected=move || unit.get() == "60">"minutes"</option>
                    <option value="3600" selected=move || unit.get() == "3600">"hours"</option>
                    <option value="86400" selected=move || unit.get() == "86400">"days"</option>
                </select>
            </span>
        </label>
    }
}

fn seconds(amount: &str, unit: &str) -> i64 {
    amount.trim().parse::<i64>().unwrap_or(0) * unit.parse::<i64>().unwrap_or(60)
}

/// Scopes are typed one at a time: Enter adds the scope to the list.
fn scope_input(scopes: RwSignal<Vec<String>>) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    view! {
        <label>"Default scopes (press Enter after each scope; a request's own scope wins)"
            <input type="text" name="scope_entry" bind:value=draft on:keydown=move |ev| {
                if ev.key() == "Enter" {
                    ev.prevent_default();
                    let v = draft.get().trim().to_owned();
                    if !v.is_empty() && !scopes.get().contains(&v) {
                        scopes.update(|s| s.push(v));
                    }
                    draft.set(String::new());
                }
            }/>
        </label>
        <ul class="chips" aria-label="Scopes">
            {move || scopes.get().into_iter().map(|s| {
                let gone = s.clone();
                view! { <li>{s}" "<button class="link" type="button" title="Remove" on:click=move |_| scopes.update(|l| l.retain(|x| x != &gone))>"×"</button></li> }
            }).collect_view()}
        </ul>
    }
}

/// The providers list and the create form. Long because it is mostly
/// `view!` markup: the form's fields for both kinds, as the seed draws them.
#[component]
fn ProvidersBody() -> impl IntoView {
    let create = ServerAction::<CreateCredentialProvider>::new();
    let toggle = ServerAction::<SetCredentialProviderEnabled>::new();
    let delete = ServerAction::<DeleteCredentialProvider>::new();
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |_| api::list_credential_providers(),
    );
    let open = RwSignal::new(false);
    let kind = RwSignal::new("oauth".to_string());
    let s = || RwSignal::new(String::new());
    let (name, description, identifier) = (s(), s(), s());
    let (client_id, client_secret, authz, token) = (s(), s(), s(), s());
    let auth_method = RwSignal::new("basic".to_string());
    let scopes = RwSignal::new(Vec::<String>::new());
    let insecure = RwSignal::new(false);
    let algorithm = RwSignal::new("ES256".to_string());
    let short = RwSignal::new(false);
    let (amount, unit) = (
        RwSignal::new("1".to_string()),
        RwSignal::new("3600".to_string()),
    );
    let whitelist = s();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            navigate(
                &format!("/credential-providers/{}", p.id),
                Default::default(),
            );
        }
    });
    let save = move |_| {
        create.dispatch(CreateCredentialProvider {
            kind: kind.get(),
            name: name.get(),
            description: description.get(),
            identifier: identifier.get(),
            client_id: client_id.get(),
            client_secret: client_secret.get(),
            authorization_endpoint: authz.get(),
            token_endpoint: token.get(),
            client_auth_method: auth_method.get(),
            scopes: scopes.get().join(" "),
            allow_insecure_local_endpoints: insecure.get(),
            algorithm: algorithm.get(),
            generate_short_token: short.get(),
            expiration_seconds: seconds(&amount.get(), &unit.get()),
            issuer_whitelist: whitelist.get(),
        });
    };
    view! {
        <AssetTabs active="provider"/>
        <div class="page-head">
            <h1>"Credential Providers"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Create Credential Provider"</button>
        </div>
        <p class="muted">"OAuth: Writ holds the client at a third party and fetches its tokens for a workload, either after a person consents (user-delegated) or on its own (machine). JWT: Writ mints JWTs for a workload with the provider's own key, published at the provider's own JWKS URL (never in Writ's access-token JWKS)."</p>
        <Show when=move || open.get()>{view! {
            <section class="panel" aria-label="Create Credential Provider">
                <h2>"Create Credential Provider"</h2>
                <div class="segmented" role="radiogroup" aria-label="Provider type">
                    <label><input type="radio" name="provider_type" value="oauth" checked=move || kind.get() == "oauth" on:change=move |_| kind.set("oauth".into())/>" OAuth"</label>
                    <label><input type="radio" name="provider_type" value="jwt" checked=move || kind.get() == "jwt" on:change=move |_| kind.set("jwt".into())/>" JWT"</label>
                </div>
                <label>"Name" <input type="text" name="provider_name" bind:value=name maxlength="128"/></label>
                <label>"Description" <input type="text" name="provider_description" bind:value=description maxlength="128"/></label>
                <label>"Identifier (what the workload names)" <input type="text" name="provider_identifier" bind:value=identifier/></label>
                <Show when=move || kind.get() == "oauth">{view! {
                    <label>"Client ID" <input type="text" name="oauth_client_id" bind:value=client_id/></label>
                    <label>"Client Secret" <input type="password" name="oauth_client_secret" autocomplete="off" bind:value=client_secret/></label>
                    <label>"Authorization Endpoint (leave blank for the machine flow)" <input type="url" name="authorization_endpoint" bind:value=authz/></label>
                    <label>"Token Endpoint (the endpoint Writ calls to exchange an authorization code for a token)" <input type="url" name="token_endpoint" bind:value=token/></label>
                    <label>"Client Authentication"
                        <select name="client_auth_method" on:change=move |ev| auth_method.set(event_target_value(&ev))>
                            <option value="basic">"client_secret_basic"</option>
                            <option value="post">"client_secret_post"</option>
                        </select>
                    </label>
                    {scope_input(scopes)}
                    <label class="check"><input type="checkbox" name="allow_insecure" bind:checked=insecure/>" Allow http:// and local addresses (local testing only)"</label>
                    <p class="muted">"Register Writ's callback URL at the third party once the provider is saved; it is shown on the provider's page."</p>
                }.into_any()}</Show>
                <Show when=move || kind.get() == "jwt">{view! {
                    <label>"Algorithm"
                        <select name="algorithm" on:change=move |ev| algorithm.set(event_target_value(&ev))>
                            <option value="ES256">"ES256"</option>
                            <option value="RS256">"RS256"</option>
                            <option value="EdDSA">"EdDSA"</option>
                        </select>
                    </label>
                    <label class="check"><input type="checkbox" name="generate_short_token" bind:checked=short/>" Generate Short Token"</label>
                    {expiry_inputs(amount, unit)}
                    <label>"Issuer Whitelist (space or comma separated)" <input type="text" name="issuer_whitelist" bind:value=whitelist/></label>
                }.into_any()}</Show>
                {move || create.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=save>"Save"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        }.into_any()}</Show>
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No credential providers yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list providers">
                            <thead><tr><th>"Name"</th><th>"Identifier"</th><th>"Type"</th><th>"Created"</th><th>"Status"</th><th>"Actions"</th><th></th></tr></thead>
                            <tbody>{l.into_iter().map(|p| {
                                let (id1, id2, enabled) = (p.id.clone(), p.id.clone(), p.enabled);
                                let href = format!("/credential-providers/{}", p.id);
                                view! {
                                    <tr>
                                        <td><a href=href.clone()>{p.name.clone()}</a></td>
                                        <td><code>{p.identifier.clone()}</code></td>
                                        <td>{if p.kind == "oauth" { "OAuth" } else { "JWT" }}</td>
                                        <td>{fmt_time(p.created_at)}</td>
                                        {lifecycle_cells("provider", enabled,
                                            move || { toggle.dispatch(SetCredentialProviderEnabled { id: id1.clone(), enabled: !enabled }); },
                                            move || { delete.dispatch(DeleteCredentialProvider { id: id2.clone() }); })}
                                        <td class="links"><a href=href.clone()>"Details"</a>" "<a href=format!("{href}?edit=1")>"Edit"</a></td>
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

#[component]
pub fn CredentialProviderDetailPage() -> impl IntoView {
    view! { <Title text="Credential Provider · Writ"/><Layout><ProviderDetail/></Layout> }
}

fn facts(p: &CredentialProviderView) -> AnyView {
    if p.kind == "oauth" {
        view! {
            <dl class="facts">
                <dt>"Identifier"</dt><dd><code class="identifier">{p.identifier.clone()}</code></dd>
                <dt>"Description"</dt><dd>{p.description.clone()}</dd>
                <dt>"Flow"</dt><dd>{flow_label(&p.authorization_flow)}</dd>
                <dt>"Client ID"</dt><dd><code>{p.client_id.clone()}</code></dd>
                <dt>"Client Secret"</dt><dd class="muted">"•••••••• (sealed; never shown again)"</dd>
                <dt>"Authorization Endpoint"</dt><dd>{p.authorization_endpoint.clone()}</dd>
                <dt>"Token Endpoint"</dt><dd>{p.token_endpoint.clone()}</dd>
                <dt>"Client Authentication"</dt><dd>{format!("client_secret_{}", p.client_auth_method)}</dd>
                <dt>"Default scopes"</dt><dd>{p.scopes.join(" ")}</dd>
                <dt>"Local endpoints"</dt><dd>{if p.allow_insecure_local_endpoints { "allowed (testing only)" } else { "refused" }}</dd>
                <dt>"Created"</dt><dd>{fmt_time(p.created_at)}</dd>
            </dl>
            <CopyField label="Callback URL (register it at the third party)" value=p.callback_url.clone()/>
        }
        .into_any()
    } else {
        view! {
            <dl class="facts">
                <dt>"Identifier"</dt><dd><code class="identifier">{p.identifier.clone()}</code></dd>
                <dt>"Description"</dt><dd>{p.description.clone()}</dd>
                <dt>"Algorithm"</dt><dd>{p.algorithm.clone()}</dd>
                <dt>"Generate Short Token"</dt><dd>{if p.generate_short_token { "on" } else { "off" }}</dd>
                <dt>"Expiration"</dt><dd>{expiry_label(p.expiration_seconds)}</dd>
                <dt>"Default issuer"</dt><dd><code>{p.default_issuer.clone()}</code></dd>
                <dt>"Issuer Whitelist"</dt><dd>{p.issuer_whitelist.join(", ")}</dd>
                <dt>"Key ID"</dt><dd><code>{p.kid.clone()}</code></dd>
                <dt>"Created"</dt><dd>{fmt_time(p.created_at)}</dd>
            </dl>
            <CopyField label="JWKS URL (relying parties verify this provider's JWTs here, not at Writ's JWKS)" value=p.jwks_uri.clone()/>
        }
        .into_any()
    }
}

/// One provider's page: details, edit form, grants, status. Long because
/// it is mostly `view!` markup of the seed's sections.
#[component]
fn ProviderDetail() -> impl IntoView {
    let params = use_params_map();
    // The list's Edit link opens the page with the edit panel filled in.
    let auto_edit = StoredValue::new(use_query_map().read_untracked().get("edit").is_some());
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateCredentialProvider>::new();
    let toggle = ServerAction::<SetCredentialProviderEnabled>::new();
    let delete = ServerAction::<DeleteCredentialProvider>::new();
    let grant = ServerAction::<GrantCredentialProvider>::new();
    let provider = Resource::new(
        move || (id(), update.version().get(), toggle.version().get()),
        |(id, ..)| api::get_credential_provider(id),
    );
    let grants = Resource::new(
        move || (id(), grant.version().get()),
        |(id, _)| api::list_provider_grants(id),
    );
    let editing = RwSignal::new(false);
    let s = || RwSignal::new(String::new());
    let (name, description, client_id, secret, authz, token) = (s(), s(), s(), s(), s(), s());
    let auth_method = RwSignal::new("basic".to_string());
    let scopes = RwSignal::new(Vec::<String>::new());
    let short = RwSignal::new(false);
    let (amount, unit) = (s(), RwSignal::new("60".to_string()));
    let whitelist = s();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/credential-providers", Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(false);
        }
    });
    view! {
        <AssetTabs active="provider"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match provider.await {
                    Err(e) => error_note(&e).into_any(),
                    Ok(p) => {
                        let (pid1, pid2, pid3, pid4) = (p.id.clone(), p.id.clone(), p.id.clone(), p.id.clone());
                        let enabled = p.enabled;
                        let oauth = p.kind == "oauth";
                        let fill = {
                            let p = p.clone();
                            move || {
                                name.set(p.name.clone());
                                description.set(p.description.clone());
                                client_id.set(p.client_id.clone());
                                secret.set(String::new());
                                authz.set(p.authorization_endpoint.clone());
                                token.set(p.token_endpoint.clone());
                                auth_method.set(p.client_auth_method.clone());
                                scopes.set(p.scopes.clone());
                                short.set(p.generate_short_token);
                                amount.set((p.expiration_seconds / 60).to_string());
                                unit.set("60".into());
                                whitelist.set(p.issuer_whitelist.join(" "));
                                editing.set(true);
                            }
                        };
                        let start_edit = {
                            let fill = fill.clone();
                            move |_| fill()
                        };
                        if auto_edit.get_value() {
                            auto_edit.set_value(false);
                            fill();
                        }
                        view! {
                            <div class="page-head">
                                <h1>{p.name.clone()}</h1>
                                <span class="badge">{if oauth { "OAuth" } else { "JWT" }}</span>
                            </div>
                            <section class="card" aria-label="Details">
                                <h2>"Details"</h2>
                                {facts(&p)}
                                <table class="list"><tbody><tr>
                                    {lifecycle_cells("provider", enabled,
                                        move || { toggle.dispatch(SetCredentialProviderEnabled { id: pid1.clone(), enabled: !enabled }); },
                                        move || { delete.dispatch(DeleteCredentialProvider { id: pid2.clone() }); })}
                                </tr></tbody></table>
                                {(!enabled).then(|| view! { <p class="muted">"Disabled: it serves nothing to any workload, cached tokens included."</p> })}
                                {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                <button on:click=start_edit>"Edit"</button>
                            </section>
                                <Show when=move || editing.get()>{view! {
                                <section class="panel" aria-label="Edit Credential Provider">
                                    <h2>"Edit"</h2>
                                    <label>"Name" <input type="text" name="edit_name" bind:value=name maxlength="128"/></label>
                                    <label>"Description" <input type="text" name="edit_description" bind:value=description maxlength="128"/></label>
                                    {if oauth { view! {
                                        <label>"Client ID" <input type="text" name="edit_client_id" bind:value=client_id/></label>
                                        <label>"Client Secret (leave blank to keep the stored secret)" <input type="password" name="edit_client_secret" autocomplete="off" bind:value=secret/></label>
                                        <label>"Authorization Endpoint" <input type="url" name="edit_authorization_endpoint" bind:value=authz/></label>
                                        <label>"Token Endpoint" <input type="url" name="edit_token_endpoint" bind:value=token/></label>
                                        <label>"Client Authentication"
                                            <select name="edit_client_auth_method" on:change=move |ev| auth_method.set(event_target_value(&ev))>
                                                <option value="basic" selected=move || auth_method.get() == "basic">"client_secret_basic"</option>
                                                <option value="post" selected=move || auth_method.get() == "post">"client_secret_post"</option>
                                            </select>
                                        </label>
                                        {scope_input(scopes)}
                                    }.into_any() } else { view! {
                                        <label class="check"><input type="checkbox" name="edit_generate_short_token" bind:checked=short/>" Generate Short Token"</label>
                                        {expiry_inputs(amount, unit)}
                                        <label>"Issuer Whitelist (space or comma separated)" <input type="text" name="edit_issuer_whitelist" bind:value=whitelist/></label>
                                    }.into_any() }}
                                    {move || update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                    <div class="actions">
                                        <button class="primary" on:click={
                                            let id = pid3.clone();
                                            move |_| { update.dispatch(UpdateCredentialProvider {
                                                id: id.clone(), name: name.get(), description: description.get(),
                                                client_id: client_id.get(), client_secret: secret.get(),
                                                authorization_endpoint: authz.get(), token_endpoint: token.get(),
                                                client_auth_method: auth_method.get(), scopes: scopes.get().join(" "),
                                                generate_short_token: short.get(),
                                                expiration_seconds: seconds(&amount.get(), &unit.get()),
                                                issuer_whitelist: whitelist.get(),
                                            }); }
                                        }>"Save"</button>
                                        <button on:click=move |_| editing.set(false)>"Cancel"</button>
                                    </div>
                                </section>
                            }.into_any()}</Show>
                            {grants_card(
                                "Who may use it",
                                "Nobody yet: no workload can use this provider.",
                                grants,
                                {
                                    let id = pid4.clone();
                                    move |client_id| { grant.dispatch(GrantCredentialProvider { id: id.clone(), client_id }); }
                                },
                                move || grant.value().get().and_then(|r| r.err()),
                            )}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

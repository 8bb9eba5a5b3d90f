//! Asset Management › Credential: API keys kept sealed by Writ and handed
//! at run time only to the agents and applications granted them.

use crate::api::{
    self, CreateCredential, DeleteCredential, GrantCredential, RewrapMasterKey,
    SetCredentialEnabled, UpdateCredential,
};
use crate::components::{Layout, error_note, fmt_time, grants_card, lifecycle_cells};
use crate::pages::credential_providers::AssetTabs;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use writ_types::{BusinessType, NewCredential};

/// The console's name of a stored business type (`saas` reads as External service).
fn business_label(t: &str) -> &'static str {
    BusinessType::parse(t).map_or("External service", BusinessType::label)
}

#[component]
pub fn CredentialsPage() -> impl IntoView {
    view! { <Title text="Credentials · Writ"/><Layout><CredentialsBody/></Layout> }
}

fn business_select(sig: RwSignal<String>) -> impl IntoView {
    view! {
        <label>"Business Type"
            <select name="business_type" on:change=move |ev| sig.set(event_target_value(&ev))>
                {BusinessType::ALL.into_iter().map(|b| view! {
                    <option value=b.as_str() selected=move || BusinessType::parse(&sig.get()) == Some(b)>{b.label()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
fn CredentialsBody() -> impl IntoView {
    let create = ServerAction::<CreateCredential>::new();
    let toggle = ServerAction::<SetCredentialEnabled>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |_| api::list_credentials(),
    );
    let open = RwSignal::new(false);
    let s = || RwSignal::new(String::new());
    let (name, description, identifier, key) = (s(), s(), s(), s());
    let (ak_id, ak_secret) = (s(), s());
    let business = RwSignal::new("llm".to_string());
    // `api_key` or `ak_sk` (seed 002's long-term AccessKey pair).
    let kind = RwSignal::new("api_key".to_string());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(c)) = create.value().get() {
            navigate(&format!("/credentials/{}", c.id), Default::default());
        }
    });
    view! {
        <AssetTabs active="credential"/>
        <div class="page-head">
            <h1>"Credentials"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Create Credential"</button>
        </div>
        <p class="muted">"Asset Management › Credential. Keys that would otherwise sit in code and config: Writ seals them (AES-256-GCM under the master key), never shows them again, and hands them at run time only to the agents and applications you grant."</p>
        <Show when=move || open.get()>
            <section class="panel" aria-label="Create Credential">
                <h2>"Create Credential"</h2>
                <label>"Credential Type"
                    <select name="credential_type" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="api_key" selected>"API Key"</option>
                        <option value="ak_sk">"AccessKey (AK/SK)"</option>
                    </select>
                </label>
                <label>"Credential Name" <input type="text" name="credential_name" bind:value=name maxlength="128"/></label>
                <label>"Description" <input type="text" name="credential_description" bind:value=description maxlength="128"/></label>
                {business_select(business)}
                <label>"API key ID (what the workload asks for)" <input type="text" name="identifier" bind:value=identifier/></label>
                <Show when=move || kind.get() == "api_key">
                    <label>"API Key" <input type="password" name="api_key" autocomplete="off" bind:value=key/></label>
                </Show>
                <Show when=move || kind.get() == "ak_sk">
                    <label>"AccessKey ID" <input type="text" name="access_key_id" autocomplete="off" bind:value=ak_id/></label>
                    <label>"AccessKey Secret" <input type="password" name="access_key_secret" autocomplete="off" bind:value=ak_secret/></label>
                </Show>
                <label>"Secure Storage" <input type="text" name="secure_storage" value="Default Encrypted Credential" disabled/></label>
                <p class="warning">"The API key cannot be shown again after you save it."</p>
                {move || create.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        create.dispatch(CreateCredential {
                            input: NewCredential {
                                name: name.get(),
                                description: Some(description.get()),
                                business_type: business.get(),
                                identifier: identifier.get(),
                                credential_type: Some(kind.get()),
                                api_key: key.get(),
                                access_key_id: Some(ak_id.get()),
                                access_key_secret: Some(ak_secret.get()),
                            },
                        });
                    }>"Save"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
        {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! { <p class="muted">"No credentials yet."</p> }.into_any(),
                    Ok(l) => view! {
                        <table class="list credentials">
                            <thead><tr><th>"Name"</th><th>"API key ID"</th><th>"Business Type"</th><th>"Updated"</th><th>"Status"</th><th>"Actions"</th><th></th></tr></thead>
                            <tbody>{l.into_iter().map(|c| {
                                let (id1, id2, enabled) = (c.id.clone(), c.id.clone(), c.enabled);
                                let href = format!("/credentials/{}", c.id);
                                view! {
                                    <tr>
                                        <td><a href=href.clone()>{c.name.clone()}</a></td>
                                        <td><code>{c.identifier.clone()}</code></td>
                                        <td>{business_label(&c.business_type)}</td>
                                        <td>{fmt_time(c.updated_at)}</td>
                                        {lifecycle_cells("credential", enabled,
                                            move || { toggle.dispatch(SetCredentialEnabled { id: id1.clone(), enabled: !enabled }); },
                                            move || { delete.dispatch(DeleteCredential { id: id2.clone() }); })}
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
        <MasterKeyCard/>
    }
}

/// The vault's master key and the online re-wrap after a rotation.
#[component]
fn MasterKeyCard() -> impl IntoView {
    let rewrap = ServerAction::<RewrapMasterKey>::new();
    let key_id = Resource::new(|| (), |_| api::master_key_id());
    view! {
        <section class="card" aria-label="Master key">
            <h2>"Master key"</h2>
            <p class="muted">"Every stored secret (API keys, client secrets kept for client_secret_jwt, provider keys and secrets, third-party tokens) is sealed under a data key wrapped by the master key. After a rotation (new key in WRIT_MASTER_KEY, old one in WRIT_PREVIOUS_MASTER_KEYS), re-wrap moves every record to the new key while Writ serves."</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match key_id.await {
                        Ok(k) => view! { <p>"Primary master key: "<code class="master-key-id">{k}</code></p> }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Transition>
            <button on:click=move |_| { rewrap.dispatch(RewrapMasterKey {}); }>"Re-wrap sealed records"</button>
            {move || rewrap.value().get().map(|r| match r {
                Ok((moved, current)) => view! { <p class="notice" role="status">{format!("Re-wrapped {moved} records; {current} already used the primary key.")}</p> }.into_any(),
                Err(e) => error_note(&e),
            })}
        </section>
    }
}

#[component]
pub fn CredentialDetailPage() -> impl IntoView {
    view! { <Title text="Credential · Writ"/><Layout><CredentialDetail/></Layout> }
}

/// One vault credential's page: details, edit, grants, status. Long
/// because it is mostly `view!` markup of the seed's sections.
#[component]
fn CredentialDetail() -> impl IntoView {
    let params = use_params_map();
    // The list's Edit link opens the page with the edit panel filled in.
    let auto_edit = StoredValue::new(use_query_map().read_untracked().get("edit").is_some());
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateCredential>::new();
    let toggle = ServerAction::<SetCredentialEnabled>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let grant = ServerAction::<GrantCredential>::new();
    let cred = Resource::new(
        move || (id(), update.version().get(), toggle.version().get()),
        |(id, ..)| api::get_credential(id),
    );
    let grants = Resource::new(
        move || (id(), grant.version().get()),
        |(id, _)| api::list_credential_grants(id),
    );
    let editing = RwSignal::new(false);
    let s = || RwSignal::new(String::new());
    let (name, description, key) = (s(), s(), s());
    let (ak_id, ak_secret) = (s(), s());
    let business = RwSignal::new("llm".to_string());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/credentials", Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(false);
        }
    });
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match cred.await {
                    Err(e) => error_note(&e).into_any(),
                    Ok(c) => {
                        let (cid1, cid2, cid3, cid4) = (c.id.clone(), c.id.clone(), c.id.clone(), c.id.clone());
                        let enabled = c.enabled;
                        let is_pair = c.credential_type == "ak_sk";
                        let fill = {
                            let c = c.clone();
                            move || {
                                name.set(c.name.clone());
                                description.set(c.description.clone());
                                business.set(c.business_type.clone());
                                key.set(String::new());
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
                                <h1>{c.name.clone()}</h1>
                                <span class="badge">{business_label(&c.business_type)}</span>
                            </div>
                            <section class="card" aria-label="Details">
                                <h2>"Details"</h2>
                                <dl class="facts">
                                    <dt>"API key ID"</dt><dd><code class="identifier">{c.identifier.clone()}</code></dd>
                                    <dt>"Description"</dt><dd>{c.description.clone()}</dd>
                                    <dt>"Credential type"</dt><dd>{if c.credential_type == "ak_sk" { "AccessKey (AK/SK)" } else { "API Key" }}</dd>
                                    <dt>"Secure Storage"</dt><dd>{c.secure_storage.clone()}</dd>
                                    <dt>{if c.credential_type == "ak_sk" { "AccessKey ID and Secret" } else { "API Key" }}</dt><dd class="muted">"•••••••• (sealed; never shown again)"</dd>
                                    <dt>"Created"</dt><dd>{fmt_time(c.created_at)}</dd>
                                    <dt>"Updated"</dt><dd>{fmt_time(c.updated_at)}</dd>
                                </dl>
                                <table class="list"><tbody><tr>
                                    {lifecycle_cells("credential", enabled,
                                        move || { toggle.dispatch(SetCredentialEnabled { id: cid1.clone(), enabled: !enabled }); },
                                        move || { delete.dispatch(DeleteCredential { id: cid2.clone() }); })}
                                </tr></tbody></table>
                                {move || toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                {move || delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                <button on:click=start_edit>"Edit"</button>
                            </section>
                            <Show when=move || editing.get()>
                                <section class="panel" aria-label="Edit Credential">
                                    <h2>"Edit"</h2>
                                    <label>"Credential Name" <input type="text" name="edit_name" bind:value=name maxlength="128"/></label>
                                    <label>"Description" <input type="text" name="edit_description" bind:value=description maxlength="128"/></label>
                                    {business_select(business)}
                                    {if is_pair {
                                        view! {
                                            <label>"AccessKey ID (leave both blank to keep the stored pair)" <input type="text" name="edit_access_key_id" autocomplete="off" bind:value=ak_id/></label>
                                            <label>"AccessKey Secret" <input type="password" name="edit_access_key_secret" autocomplete="off" bind:value=ak_secret/></label>
                                        }.into_any()
                                    } else {
                                        view! { <label>"API Key (leave blank to keep the stored key)" <input type="password" name="edit_api_key" autocomplete="off" bind:value=key/></label> }.into_any()
                                    }}
                                    {move || update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                                    <div class="actions">
                                        <button class="primary" on:click={
                                            let id = cid3.clone();
                                            move |_| { update.dispatch(UpdateCredential { id: id.clone(), name: name.get(), description: description.get(), business_type: business.get(), api_key: key.get(), access_key_id: ak_id.get(), access_key_secret: ak_secret.get() }); }
                                        }>"Save"</button>
                                        <button on:click=move |_| editing.set(false)>"Cancel"</button>
                                    </div>
                                </section>
                            </Show>
                            {grants_card(
                                "Who may obtain it",
                                "Nobody yet: no workload can obtain this credential.",
                                grants,
                                {
                                    let id = cid4.clone();
                                    move |client_id| { grant.dispatch(GrantCredential { id: id.clone(), client_id }); }
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

//! Resource server applications: audiences, permissions, what a relying
//! cloud needs to trust Writ as an OIDC IdP, and permission grants.

use super::agents::DESCRIPTION_MAX;
use crate::api::{
    self, CreateResourceServer, DeleteResourceServer, GrantPermissions, RevokeGrant,
    SetResourceServerEnabled, UpdateResourceServer,
};
use crate::components::{CopyField, Layout, StatusBadge, error_note, lifecycle_cells};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use writ_types::{ClientView, ResourceServerView};

#[component]
pub fn ResourceServersPage() -> impl IntoView {
    view! { <Title text="Resource Servers · Writ"/><Layout><ResourceServersBody/></Layout> }
}

#[component]
fn ResourceServersBody() -> impl IntoView {
    let _ = DESCRIPTION_MAX;
    let create = ServerAction::<CreateResourceServer>::new();
    let list = Resource::new(
        move || create.version().get(),
        |_| api::list_resource_servers(),
    );
    let open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let permissions = RwSignal::new(String::new());
    let ttl = RwSignal::new("3600".to_string());
    let custom_subject = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(rs)) = create.value().get() {
            navigate(&format!("/resource-servers/{}", rs.id), Default::default());
        }
    });
    view! {
        <div class="page-head">
            <h1>"Resource Servers"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Add Resource Server"</button>
        </div>
        <Show when=move || open.get()>
            <section class="panel" aria-label="Add Resource Server">
                <h2>"Add Resource Server"</h2>
                <label>"Name" <input type="text" name="name" bind:value=name maxlength="64"/></label>
                <label>"Audience identifier" <input type="text" name="audience" bind:value=audience placeholder="https://api.example.com"/></label>
                <label>"Permissions (scope values, separated by spaces or commas)" <input type="text" name="permissions" bind:value=permissions placeholder="read write"/></label>
                <label>"Access token lifetime (seconds)" <input type="number" name="ttl" bind:value=ttl min="300" max="86400"/></label>
                <label class="switch"><input type="checkbox" name="custom_subject" bind:checked=custom_subject/> "Custom subject identity"</label>
                {move || create.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        create.dispatch(CreateResourceServer { name: name.get(), audience: audience.get(), permissions: permissions.get(), ttl: ttl.get(), custom_subject: custom_subject.get() });
                    }>"Create"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! {
                        <table class="list">
                            <thead><tr><th>"Name"</th><th>"Audience"</th><th>"Permissions"</th><th>"Token lifetime"</th></tr></thead>
                            <tbody>{list.into_iter().map(|rs| view! {
                                <tr>
                                    <td><a href=format!("/resource-servers/{}", rs.id)>{rs.name.clone()}</a>{rs.builtin.then(|| view! { <span class="badge">"built-in"</span> })}</td>
                                    <td><code>{rs.audience.clone()}</code></td>
                                    <td>{rs.permissions.join(", ")}</td>
                                    <td>{format!("{} s", rs.access_token_ttl_seconds)}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ResourceServerDetailPage() -> impl IntoView {
    view! { <Title text="Resource Server · Writ"/><Layout><ResourceServerDetail/></Layout> }
}

#[component]
fn ResourceServerDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let life = RsLifecycle {
        update: ServerAction::new(),
        toggle: ServerAction::new(),
        delete: ServerAction::new(),
        editing: RwSignal::new(false),
    };
    let rs = Resource::new(
        move || {
            (
                id(),
                life.update.version().get(),
                life.toggle.version().get(),
            )
        },
        |(id, ..)| api::get_resource_server(id),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = life.delete.value().get() {
            navigate("/resource-servers", Default::default());
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
                match rs.await {
                    Ok(rs) => view! { <RsLifecycleBar rs=rs.clone() life=life/><RsView rs=rs/> }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

/// Edit, status and delete of the resource server this page shows.
#[derive(Clone, Copy)]
struct RsLifecycle {
    update: ServerAction<UpdateResourceServer>,
    toggle: ServerAction<SetResourceServerEnabled>,
    delete: ServerAction<DeleteResourceServer>,
    editing: RwSignal<bool>,
}

/// Status, the status switch and Delete (greyed while enabled), and the
/// Edit panel; the built-in server says why it has neither switch nor Delete.
#[component]
fn RsLifecycleBar(rs: ResourceServerView, life: RsLifecycle) -> impl IntoView {
    let enabled = rs.enabled;
    let (id1, id2, id3) = (rs.id.clone(), rs.id.clone(), rs.id.clone());
    let builtin = rs.builtin;
    let permissions = RwSignal::new(rs.permissions.join(" "));
    let ttl = RwSignal::new(rs.access_token_ttl_seconds.to_string());
    let custom = RwSignal::new(rs.custom_subject);
    view! {
        <section class="card lifecycle" aria-label="Status">
            {if builtin {
                view! {
                    <p><StatusBadge enabled=enabled/>" "<button class="small" on:click=move |_| life.editing.set(true)>"Edit"</button></p>
                    <p class="hint">"Built in: the developer API's resource server cannot be disabled or deleted (the vault and the credential providers depend on it), and its permissions and subject are fixed. Only its token lifetime can change."</p>
                }.into_any()
            } else {
                view! {
                    <table class="list"><tbody><tr>
                        {lifecycle_cells("resource server", enabled,
                            move || { life.toggle.dispatch(SetResourceServerEnabled { id: id1.clone(), enabled: !enabled }); },
                            move || { life.delete.dispatch(DeleteResourceServer { id: id2.clone() }); })}
                        <td><button class="small" on:click=move |_| life.editing.set(true)>"Edit"</button></td>
                    </tr></tbody></table>
                    {(!enabled).then(|| view! { <p class="hint">"Disabled: the token endpoint refuses this audience."</p> })}
                }.into_any()
            }}
            {move || life.toggle.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            {move || life.delete.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
        </section>
        <Show when=move || life.editing.get()>
            <section class="panel" aria-label="Edit Resource Server">
                <h2>"Edit"</h2>
                {(!builtin).then(|| view! {
                    <label>"Permissions (space-separated; removing one takes it from every grant)"
                        <input type="text" name="edit_permissions" bind:value=permissions/></label>
                })}
                <label>"Access token lifetime (seconds)" <input type="text" name="edit_ttl" bind:value=ttl/></label>
                {(!builtin).then(|| view! {
                    <label class="check"><input type="checkbox" name="edit_custom_subject" prop:checked=move || custom.get()
                        on:change=move |ev| custom.set(event_target_checked(&ev))/>" Custom subject identity"</label>
                })}
                {move || life.update.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click={
                        let id = id3.clone();
                        move |_| { life.update.dispatch(UpdateResourceServer { id: id.clone(), permissions: permissions.get(), ttl: ttl.get(), custom_subject: custom.get() }); }
                    }>"Save"</button>
                    <button on:click=move |_| life.editing.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
    }
}

#[component]
fn RsView(rs: ResourceServerView) -> impl IntoView {
    let issuer = Resource::new(|| (), |_| api::get_issuer_info());
    let audience = rs.audience.clone();
    let custom = rs.custom_subject;
    view! {
        <div class="page-head"><h1>{rs.name.clone()}</h1></div>
        <section class="card">
            <dl>
                <dt>"Audience identifier"</dt><dd><code>{rs.audience.clone()}</code></dd>
                <dt>"Permissions"</dt><dd>{rs.permissions.join(", ")}</dd>
                <dt>"Access token lifetime"</dt><dd>{format!("{} seconds", rs.access_token_ttl_seconds)}</dd>
                <dt>"Custom subject identity"</dt><dd>{if custom { "On" } else { "Off" }}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Trust Writ as an OIDC identity provider"</h2>
            <p class="muted">"What a relying cloud (for example Alibaba Cloud RAM, for AssumeRoleWithOIDC) asks for when you add Writ as its OIDC IdP:"</p>
            <Suspense fallback=|| ()>
                {move || {
                    let audience = audience.clone();
                    Suspend::new(async move {
                        match issuer.await {
                            Ok(i) => view! {
                                <CopyField label="Issuer URL" value=i.issuer/>
                                <CopyField label="Client ID (audience identifier)" value=audience/>
                                <CopyField label="Fingerprint (what RAM's Get Fingerprint shows)" value=i.ram_fingerprint.unwrap_or_else(|| "unavailable: Writ does not serve TLS itself here".into())/>
                                <CopyField label="Computed from the top certificate Writ serves" value=i.ram_fingerprint_certificate.unwrap_or_default()/>
                                <CopyField label="Recompute it (Alibaba Cloud's OpenSSL procedure)" value=i.ram_fingerprint_command/>
                                <CopyField label="SHA-1 of the server certificate itself" value=i.tls_sha1_fingerprint.unwrap_or_else(|| "unavailable".into())/>
                                <p>"The " <code>"sub"</code> " the cloud sees (for " <code>"oidc:sub"</code> " conditions) is the client ID of the agent or application, e.g. "
                                    <code>"app_…"</code>
                                    {custom.then_some(". With custom subject identity on, attribute mapping can make it <clientId>:<activeSubjectUrn>.")}
                                </p>
                            }.into_any(),
                            Err(e) => error_note(&e),
                        }
                    })
                }}
            </Suspense>
        </section>
        <Grants rs=rs/>
    }
}

/// A resource server's grants: the list and the grant form. Long because
/// it is mostly `view!` markup.
#[component]
fn Grants(rs: ResourceServerView) -> impl IntoView {
    let grant = ServerAction::<GrantPermissions>::new();
    let revoke = ServerAction::<RevokeGrant>::new();
    let rs_id = StoredValue::new(rs.id.clone());
    let grants = Resource::new(
        move || {
            (
                rs_id.get_value(),
                grant.version().get(),
                revoke.version().get(),
            )
        },
        |(id, ..)| api::list_grants(id),
    );
    let clients = Resource::new(
        || (),
        |_| async {
            let mut all: Vec<ClientView> = api::list_clients("agent".into()).await?;
            all.extend(api::list_clients("m2m".into()).await?);
            Ok::<_, ServerFnError>(all)
        },
    );
    let chosen_client = RwSignal::new(String::new());
    let chosen: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let perms = StoredValue::new(rs.permissions.clone());
    view! {
        <section class="card">
            <h2>"Permission grants"</h2>
            <div class="grant-form">
                <label>"Agent or M2M application"
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match clients.await {
                                Ok(list) => view! {
                                    <select name="client" on:change=move |ev| chosen_client.set(event_target_value(&ev))>
                                        <option value="">"Choose…"</option>
                                        {list.into_iter().map(|c| view! { <option value=c.client_id.clone()>{format!("{} ({})", c.name, c.client_id)}</option> }).collect_view()}
                                    </select>
                                }.into_any(),
                                Err(e) => error_note(&e),
                            }
                        })}
                    </Suspense>
                </label>
                <fieldset>
                    <legend>"Permissions"</legend>
                    {std::iter::once(".all".to_string()).chain(perms.get_value()).map(|p| {
                        let (p1, p2) = (p.clone(), p.clone());
                        let label = if p == ".all" { "All permissions (.all)".to_string() } else { p.clone() };
                        view! {
                            <label class="check"><input type="checkbox" name="permission" value=p.clone()
                                prop:checked=move || chosen.get().contains(&p1)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|v| { v.retain(|x| x != &p2); if on { v.push(p2.clone()); } });
                                }/>{label}</label>
                        }
                    }).collect_view()}
                </fieldset>
                <button class="primary" on:click=move |_| {
                    grant.dispatch(GrantPermissions { resource_server: rs_id.get_value(), client_id: chosen_client.get(), permissions: chosen.get().join(" ") });
                }>"Grant"</button>
                {move || grant.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match grants.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No grants yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list grants">
                                <thead><tr><th>"Client"</th><th>"Permissions"</th><th></th></tr></thead>
                                <tbody>{list.into_iter().map(|g| {
                                    let gid = g.id.clone();
                                    view! {
                                        <tr>
                                            <td>{g.client_name.clone()}<br/><code>{g.client_id.clone()}</code></td>
                                            <td>{g.permissions.join(", ")}</td>
                                            <td><button class="small danger" on:click=move |_| { revoke.dispatch(RevokeGrant { resource_server: rs_id.get_value(), grant: gid.clone() }); }>"Revoke"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Transition>
        </section>
    }
}

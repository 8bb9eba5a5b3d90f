//! Agent ID Guard: the agent list and the Register Agent Identity panel.

use crate::api::{self, DeleteClient, RegisterAgent, SetClientEnabled};
use crate::components::{Layout, error_note, fmt_time, lifecycle_cells};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use writ_types::ClientView;

pub const DESCRIPTION_MAX: usize = 128;

#[component]
pub fn AgentsPage() -> impl IntoView {
    view! {
        <Title text="Agent ID Guard · Writ"/>
        <Layout>
            <AgentsBody/>
        </Layout>
    }
}

#[component]
fn AgentsBody() -> impl IntoView {
    let register = ServerAction::<RegisterAgent>::new();
    let actions = ClientActions::new();
    let agents = Resource::new(
        move || (register.version().get(), actions.version()),
        |_| api::list_clients("agent".into()),
    );
    let open = RwSignal::new(false);
    view! {
        <div class="page-head">
            <h1>"Agent ID Guard"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Register Agent Identity"</button>
        </div>
        <Show when=move || open.get()>
            <RegisterAgentPanel action=register on_close=move || open.set(false)/>
        </Show>
        {actions.error()}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match agents.await {
                    Ok(list) => view! { <ClientTable clients=list base="/agents" kind="agent" actions=actions empty="No agents yet. Register one to give it an identity."/> }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

/// The lifecycle actions a client list dispatches (its resource reloads on
/// their versions).
#[derive(Clone, Copy)]
pub struct ClientActions {
    pub toggle: ServerAction<SetClientEnabled>,
    pub delete: ServerAction<DeleteClient>,
}

impl ClientActions {
    pub fn new() -> Self {
        Self {
            toggle: ServerAction::new(),
            delete: ServerAction::new(),
        }
    }
    /// Changes whenever an action completes: the list's resource key.
    pub fn version(&self) -> (usize, usize) {
        (self.toggle.version().get(), self.delete.version().get())
    }
    /// The last failure of either action, shown above the list.
    pub fn error(&self) -> impl IntoView + use<> {
        let (t, d) = (self.toggle, self.delete);
        move || {
            t.value()
                .get()
                .and_then(|r| r.err())
                .or_else(|| d.value().get().and_then(|r| r.err()))
                .map(|e| error_note(&e))
        }
    }
}

/// Agents or M2M applications with an Actions column: Details, Edit, a
/// status switch, and Delete (greyed, with the reason, while enabled).
#[component]
pub fn ClientTable(
    clients: Vec<ClientView>,
    base: &'static str,
    /// `agent` or `m2m`, as the server functions name kinds.
    kind: &'static str,
    actions: ClientActions,
    empty: &'static str,
) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    let noun = if kind == "agent" {
        "agent"
    } else {
        "application"
    };
    view! {
        <table class="list clients">
            <thead><tr><th>"Name"</th><th>"Agent ID / Client ID"</th><th>"Owner"</th><th>"Created"</th><th>"Status"</th><th colspan="2">"Actions"</th></tr></thead>
            <tbody>
                {clients.into_iter().map(|c| {
                    let href = format!("{base}/{}", c.id);
                    let edit = format!("{base}/{}?edit=1", c.id);
                    let (id1, id2) = (c.id.clone(), c.id.clone());
                    let enabled = c.enabled;
                    view! {
                        <tr data-client=c.client_id.clone()>
                            <td><a href=href.clone()>{c.name.clone()}</a></td>
                            <td><code>{c.agent_id.clone().unwrap_or_default()}</code><br/><code>{c.client_id.clone()}</code></td>
                            <td>{c.owner.clone().unwrap_or_else(|| "—".into())}</td>
                            <td>{fmt_time(c.created_at)}</td>
                            {lifecycle_cells(noun, enabled,
                                move || { actions.toggle.dispatch(SetClientEnabled { id: id1.clone(), kind: kind.into(), enabled: !enabled }); },
                                move || { actions.delete.dispatch(DeleteClient { id: id2.clone(), kind: kind.into() }); })}
                            <td class="links"><a href=href>"Details"</a>" " <a href=edit>"Edit"</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
}

/// Returns the first problem with the form, in the console's words.
pub fn validate_client_form(name: &str, owner: Option<&str>, description: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("Name is required.".into());
    }
    if name.trim().chars().count() > 64 {
        return Some("Name must be at most 64 characters.".into());
    }
    if let Some(o) = owner
        && o.trim().is_empty()
    {
        return Some("Owner is required.".into());
    }
    if description.chars().count() > DESCRIPTION_MAX {
        return Some(format!(
            "Description must be at most {DESCRIPTION_MAX} characters."
        ));
    }
    None
}

#[component]
fn RegisterAgentPanel(
    action: ServerAction<RegisterAgent>,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let suffix: String = std::iter::repeat_with(|| {
        "0123456789abcdef"
            .chars()
            .nth((js_random() * 16.0) as usize)
            .unwrap_or('0')
    })
    .take(4)
    .collect();
    let name = RwSignal::new(format!("agent-{suffix}"));
    let owner = RwSignal::new("admin".to_string());
    let description = RwSignal::new(String::new());
    let auth_type = RwSignal::new("client_secret".to_string());
    let problem = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(created)) = action.value().get() {
            // Straight to the tab that sets the chosen method up.
            navigate(
                &format!("/agents/{}?tab={}", created.id, created.auth_type),
                Default::default(),
            );
        }
    });
    let close = on_close.clone();
    view! {
        <section class="panel" aria-label="Register Agent Identity">
            <h2>"Register Agent Identity"</h2>
            <label>"Agent Name" <input type="text" name="name" bind:value=name maxlength="64"/></label>
            <label>"Owner" <input type="text" name="owner" bind:value=owner maxlength="64"/></label>
            <label>"Description"
                <textarea name="description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <span class="counter">{move || format!("{}/{}", description.get().chars().count(), DESCRIPTION_MAX)}</span>
            </label>
            <label>"Authentication Type"
                <select name="auth_type" on:change=move |ev| auth_type.set(event_target_value(&ev))>
                    <option value="client_secret" selected>"Client Secret"</option>
                    <option value="private_key_jwt">"Public Key (private_key_jwt)"</option>
                    <option value="pca">"PCA (private CA certificate)"</option>
                    <option value="oidc">"OIDC (Kubernetes, GitHub Actions, cloud VM token)"</option>
                    <option value="pkcs7">"PKCS#7 (instance identity document)"</option>
                </select>
            </label>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            {move || action.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
            <div class="actions">
                <button class="primary" on:click=move |_| {
                    let (n, o, d) = (name.get(), owner.get(), description.get());
                    match validate_client_form(&n, Some(&o), &d) {
                        Some(p) => problem.set(Some(p)),
                        None => {
                            problem.set(None);
                            action.dispatch(RegisterAgent { name: n, owner: o, description: d, auth_type: auth_type.get() });
                        }
                    }
                }>"Register"</button>
                <button on:click=move |_| close()>"Cancel"</button>
            </div>
        </section>
    }
}

/// A random number in [0, 1): Math.random in the browser; fixed on the
/// server, where the value is replaced at hydration anyway.
fn js_random() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Math::random()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.5
    }
}

#[cfg(test)]
mod tests {
    use super::validate_client_form;

    #[test]
    fn form_rules() {
        assert!(validate_client_form("a", Some("me"), "").is_none());
        assert_eq!(
            validate_client_form(" ", Some("me"), "").as_deref(),
            Some("Name is required.")
        );
        assert_eq!(
            validate_client_form("a", Some(""), "").as_deref(),
            Some("Owner is required.")
        );
        assert!(validate_client_form("a", None, &"x".repeat(129)).is_some());
        assert!(validate_client_form("a", None, &"x".repeat(128)).is_none());
    }
}

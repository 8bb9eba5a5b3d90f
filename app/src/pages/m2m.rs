//! Application Management › M2M Application.

use super::agents::{ClientActions, ClientTable, DESCRIPTION_MAX, validate_client_form};
use crate::api::{self, AddM2mApplication};
use crate::components::{Layout, error_note};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

#[component]
pub fn M2mPage() -> impl IntoView {
    view! {
        <Title text="M2M Applications · Writ"/>
        <Layout>
            <M2mBody/>
        </Layout>
    }
}

#[component]
fn M2mBody() -> impl IntoView {
    let add = ServerAction::<AddM2mApplication>::new();
    let actions = ClientActions::new();
    let apps = Resource::new(
        move || (add.version().get(), actions.version()),
        |_| api::list_clients("m2m".into()),
    );
    let open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(created)) = add.value().get() {
            navigate(&format!("/m2m/{}", created.id), Default::default());
        }
    });
    view! {
        <div class="page-head">
            <h1>"M2M Applications"</h1>
            <button class="primary" on:click=move |_| open.set(true)>"Add Application"</button>
        </div>
        <Show when=move || open.get()>
            <section class="panel" aria-label="Add Application">
                <h2>"Add Application"</h2>
                <label>"Application Name" <input type="text" name="name" bind:value=name maxlength="64"/></label>
                <label>"Description"
                    <textarea name="description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                    <span class="counter">{move || format!("{}/{}", description.get().chars().count(), DESCRIPTION_MAX)}</span>
                </label>
                {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
                {move || add.value().get().and_then(|r| r.err()).map(|e| error_note(&e))}
                <div class="actions">
                    <button class="primary" on:click=move |_| {
                        match validate_client_form(&name.get(), None, &description.get()) {
                            Some(p) => problem.set(Some(p)),
                            None => {
                                problem.set(None);
                                add.dispatch(AddM2mApplication { name: name.get(), description: description.get() });
                            }
                        }
                    }>"Add"</button>
                    <button on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </section>
        </Show>
        {actions.error()}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(list) => view! { <ClientTable clients=list base="/m2m" kind="m2m" actions=actions empty="No M2M applications yet."/> }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}
